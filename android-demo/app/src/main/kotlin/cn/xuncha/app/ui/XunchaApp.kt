package cn.xuncha.app.ui

import android.app.Application
import android.os.Handler
import android.os.Looper
import cn.xuncha.app.core.Dispatch
import cn.xuncha.ffi.Lang
import cn.xuncha.app.core.SyncController
import cn.xuncha.ffi.XunchaClient
import java.util.Locale
import java.util.concurrent.Executors

/**
 * The Android layer only renders and forwards: every behaviour is in `cn.xuncha.app.core`
 * (tested on the JVM). This holds the one store of the device and the threads calls run on.
 */
class XunchaApp : Application() {
    lateinit var client: XunchaClient
        private set
    lateinit var sync: SyncController
        private set
    val lang: Lang get() = if (Locale.getDefault().language == "zh") Lang.ZH_CN else Lang.EN

    private val worker = Executors.newSingleThreadExecutor()
    private val mainHandler = Handler(Looper.getMainLooper())
    val dispatch = object : Dispatch {
        override fun background(block: () -> Unit) {
            worker.execute(block)
        }

        override fun main(block: () -> Unit) {
            mainHandler.post(block)
        }
    }

    override fun onCreate() {
        super.onCreate()
        client = XunchaClient.open(filesDir.resolve("xuncha").path)
        sync = SyncController(client, dispatch, lang)
    }
}

val android.app.Activity.app: XunchaApp get() = application as XunchaApp

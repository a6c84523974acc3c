package cn.xuncha.app.core

import cn.xuncha.ffi.Lang
import cn.xuncha.ffi.XunchaException

/**
 * Where work runs. The library's calls block, so view models run them in [background] and
 * publish results in [main]. The Android layer passes an executor and the main looper; the JVM
 * tests pass [Immediate].
 */
interface Dispatch {
    fun background(block: () -> Unit)
    fun main(block: () -> Unit)

    /** Runs everything at once on the calling thread (tests, scripts). */
    object Immediate : Dispatch {
        override fun background(block: () -> Unit) = block()
        override fun main(block: () -> Unit) = block()
    }
}

/** A value that screens observe: the UI layer renders every new value, nothing else. */
class State<T>(initial: T) {
    @Volatile
    var value: T = initial
        private set
    private val observers = mutableListOf<(T) -> Unit>()

    fun observe(observer: (T) -> Unit) {
        synchronized(observers) { observers += observer }
        observer(value)
    }

    internal fun set(v: T) {
        value = v
        val now = synchronized(observers) { observers.toList() }
        now.forEach { it(v) }
    }
}

/** An error as a screen shows it: the person's message in their language, and the stable code. */
data class Problem(val code: String, val message: String, val signInAgain: Boolean = false)

fun problemOf(e: Throwable, lang: Lang): Problem = when (e) {
    is XunchaException.Invalid -> Problem(e.code, pick(lang, e.detail, e.detailEn))
    is XunchaException.Auth -> Problem(e.code, pick(lang, e.detail, e.detailEn), signInAgain = true)
    is XunchaException.Network -> Problem(e.code, pick(lang, e.detail, e.detailEn))
    is XunchaException.Server -> Problem(
        e.serverCode.ifEmpty { e.code },
        pick(lang, e.detail, e.detailEn),
        signInAgain = e.serverCode in setOf("device_revoked", "user_disabled"),
    )
    is XunchaException.Storage -> Problem(e.code, pick(lang, e.detail, e.detailEn))
    is XunchaException.Cancelled -> Problem(e.code, pick(lang, e.detail, e.detailEn))
    else -> Problem("internal", pick(lang, "出错了：${e.message}", "Something went wrong: ${e.message}"))
}

/** The app's own words in the UI's language (the core's `Lang`: zh-CN first, English beside it). */
internal fun pick(lang: Lang, zh: String, en: String) = if (lang == Lang.ZH_CN || en.isEmpty()) zh else en

package cn.xuncha.app

import cn.xuncha.ffi.NewCase
import cn.xuncha.ffi.NewPhoto
import cn.xuncha.ffi.Place
import cn.xuncha.ffi.XunchaClient

/**
 * `report` with a 3 MB photo from Kotlin through the bindings (bytes cross JNA), to set beside
 * `xuncha-bench mobile` (the same call in Rust). Run by hand against a release library:
 * see android-demo/README.md. Prints the mean per call with the photo as bytes and as a file.
 */
fun main() {
    DemoServer().use { server ->
        val client = XunchaClient.open(tempDir("xuncha-kt-bench"))
        client.signIn(server.url, "inspector1", "demo", "bench")
        client.sync(null, null)
        val here = Place(30.2552, 120.1552, 5.0, "演示路 1 号")
        val photos = (0 until 25).map { jpegBytes(5000 + it, 3 * 1024 * 1024) }
        client.report(NewCase("0101", "warm-up", here, null, null, false, listOf(NewPhoto(null, jpegBytes(1, 3 * 1024 * 1024), null, null))))
        val t = System.nanoTime()
        for (p in photos) {
            client.report(NewCase("0101", "bench", here, null, null, false, listOf(NewPhoto(null, p, null, null))))
        }
        val ms = (System.nanoTime() - t) / 1e6 / photos.size
        println("report_3mb_photo_kotlin_bytes: %.3f ms".format(ms))
        // As the app does it: the system camera wrote a file, the library reads it.
        val files = photos.mapIndexed { i, p ->
            java.io.File.createTempFile("cam$i", ".jpg").apply { writeBytes(p); p[10] = (p[10] + 1).toByte(); writeBytes(p) }
        }
        val t2 = System.nanoTime()
        for (f in files) {
            client.report(NewCase("0101", "bench", here, null, null, false, listOf(NewPhoto(f.path, null, null, null))))
        }
        val ms2 = (System.nanoTime() - t2) / 1e6 / files.size
        println("report_3mb_photo_kotlin_path: %.3f ms".format(ms2))
        files.forEach { it.delete() }
    }
}

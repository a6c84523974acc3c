package cn.xuncha.app

import java.io.File
import java.net.HttpURLConnection
import java.net.ServerSocket
import java.net.URI
import java.nio.file.Files

/** A tiny test runner for the JVM host tests (no JUnit here: nothing downloads from Maven). */
object TestKit {
    private val tests = mutableListOf<Pair<String, () -> Unit>>()

    fun test(name: String, body: () -> Unit) {
        tests += name to body
    }

    /** Runs every test; returns how many failed. */
    fun runAll(): Int {
        var failed = 0
        for ((name, body) in tests) {
            val started = System.nanoTime()
            try {
                body()
                println("ok   $name (${(System.nanoTime() - started) / 1_000_000} ms)")
            } catch (e: Throwable) {
                failed++
                println("FAIL $name: $e")
                e.printStackTrace(System.out)
            }
        }
        println("${tests.size - failed} passed, $failed failed")
        return failed
    }
}

fun check(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionError(message())
}

fun <T> checkEq(expected: T, actual: T, what: String) {
    if (expected != actual) throw AssertionError("$what: expected <$expected>, got <$actual>")
}

inline fun <reified E : Throwable> expectThrows(what: String, body: () -> Unit): E {
    try {
        body()
    } catch (e: Throwable) {
        if (e is E) return e
        throw AssertionError("$what: expected ${E::class.simpleName}, got $e", e)
    }
    throw AssertionError("$what: expected ${E::class.simpleName}, nothing was thrown")
}

/** A real `xuncha-server demo` process on a free port, with its own data folder: the demo city
 *  alone, or with its sample week and rounds when [withSamples]. */
class DemoServer(withSamples: Boolean = false) : AutoCloseable {
    val url: String
    private val process: Process
    private val data: File = Files.createTempDirectory("xuncha-kt-server").toFile()

    init {
        val bin = System.getenv("XUNCHA_SERVER_BIN") ?: error("XUNCHA_SERVER_BIN is not set")
        val port = ServerSocket(0).use { it.localPort }
        url = "http://127.0.0.1:$port"
        val args = listOf(bin, "demo") + (if (withSamples) emptyList() else listOf("--empty")) +
            listOf("--addr", "127.0.0.1:$port", "--data", data.path)
        process = ProcessBuilder(args)
            .redirectErrorStream(true)
            .redirectOutput(File(data, "server.log"))
            .start()
        val deadline = System.currentTimeMillis() + 60_000
        while (true) {
            try {
                val c = URI("$url/healthz").toURL().openConnection() as HttpURLConnection
                if (c.responseCode == 200) break
            } catch (_: Exception) {
            }
            check(process.isAlive) { "server exited: " + File(data, "server.log").readText() }
            check(System.currentTimeMillis() < deadline) { "server did not start" }
            Thread.sleep(50)
        }
    }

    override fun close() {
        process.destroy()
        process.waitFor()
        data.deleteRecursively()
    }
}

fun tempDir(prefix: String): String = Files.createTempDirectory(prefix).toFile().path

/**
 * A real JPEG (a small noisy picture encoded by the JDK's ImageIO), distinct per seed, about
 * `size` bytes long: comment segments after its start marker make up the size. The store walks
 * a photo's structure before it keeps it, so random bytes would not do.
 */
fun jpegBytes(seed: Int, size: Int): ByteArray {
    val r = java.util.Random(seed.toLong())
    val img = java.awt.image.BufferedImage(64, 48, java.awt.image.BufferedImage.TYPE_INT_RGB)
    for (y in 0 until 48) for (x in 0 until 64) img.setRGB(x, y, r.nextInt(0xFFFFFF))
    val encoded = java.io.ByteArrayOutputStream()
    check(javax.imageio.ImageIO.write(img, "jpg", encoded)) { "no JPEG writer" }
    val jpeg = encoded.toByteArray()
    val out = java.io.ByteArrayOutputStream(maxOf(size, jpeg.size))
    out.write(jpeg, 0, 2)
    var filler = size - jpeg.size
    while (filler > 4) {
        val n = minOf(filler - 4, 65_533)
        out.write(0xFF); out.write(0xFE); out.write((n + 2) shr 8); out.write((n + 2) and 0xFF)
        val noise = ByteArray(n).also { r.nextBytes(it) }
        out.write(noise)
        filler -= n + 4
    }
    out.write(jpeg, 2, jpeg.size - 2)
    return out.toByteArray()
}

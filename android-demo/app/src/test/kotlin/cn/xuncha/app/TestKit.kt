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

/** A real `xuncha-server demo` process on a free port, with its own data folder. */
class DemoServer : AutoCloseable {
    val url: String
    private val process: Process
    private val data: File = Files.createTempDirectory("xuncha-kt-server").toFile()

    init {
        val bin = System.getenv("XUNCHA_SERVER_BIN") ?: error("XUNCHA_SERVER_BIN is not set")
        val port = ServerSocket(0).use { it.localPort }
        url = "http://127.0.0.1:$port"
        process = ProcessBuilder(bin, "demo", "--empty", "--addr", "127.0.0.1:$port", "--data", data.path)
            .redirectErrorStream(true)
            .redirectOutput(File(data, "server.log"))
            .start()
        val deadline = System.currentTimeMillis() + 30_000
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

/** Bytes that start and end like a JPEG (the store checks the type, not the picture). */
fun jpegBytes(seed: Int, size: Int): ByteArray {
    val b = ByteArray(size)
    val r = java.util.Random(seed.toLong())
    r.nextBytes(b)
    b[0] = 0xFF.toByte(); b[1] = 0xD8.toByte(); b[2] = 0xFF.toByte(); b[3] = 0xE0.toByte()
    b[size - 2] = 0xFF.toByte(); b[size - 1] = 0xD9.toByte()
    return b
}

package cn.xuncha.app.core

import cn.xuncha.ffi.LogLevel
import cn.xuncha.ffi.LogListener
import cn.xuncha.ffi.setLogListener

/** One line of the library's log, as the log screen shows it. */
data class LogLine(val atMs: Long, val level: LogLevel, val target: String, val message: String) {
    override fun toString() = "${level.name.first()} ${target.substringAfterLast("::")}: $message"
}

/**
 * The device's log view: the library's log lines (sync, refused operations with their codes,
 * retries, photos), the last [capacity] kept in memory for a support screen. [install] makes it
 * the library's listener.
 */
class DeviceLog(private val capacity: Int = 500) : LogListener {
    val state = State<List<LogLine>>(emptyList())

    fun install(level: LogLevel = LogLevel.INFO) = setLogListener(this, level)

    fun uninstall() = setLogListener(null, LogLevel.INFO)

    override fun onLog(level: LogLevel, target: String, message: String) {
        synchronized(this) {
            state.set((state.value + LogLine(System.currentTimeMillis(), level, target, message)).takeLast(capacity))
        }
    }
}

package cn.xuncha.app.core

import cn.xuncha.ffi.CancelToken
import cn.xuncha.ffi.Lang
import cn.xuncha.ffi.SyncListener
import cn.xuncha.ffi.SyncSummary
import cn.xuncha.ffi.SyncPhase
import cn.xuncha.ffi.XunchaClient
import cn.xuncha.ffi.syncPhaseLabel

/** What the sync bar shows: pending count, progress, the last problem. */
data class SyncUi(
    val running: Boolean = false,
    val pending: Long = 0,
    val phase: SyncPhase? = null,
    val done: Long = 0,
    val total: Long = 0,
    val lastSummary: SyncSummary? = null,
    val problem: Problem? = null,
    /** Unread notices (临期, 逾期, 催办, 督办, new dispatches): the count on the bar. */
    val unread: Long = 0,
) {
    fun label(lang: Lang): String {
        val status = when {
            running && phase != null -> syncPhaseLabel(phase, lang) + if (total > 0) " $done/$total" else ""
            problem != null -> problem.message
            pending > 0 -> pick(lang, "$pending 条记录待上传", "$pending records waiting to send")
            else -> pick(lang, "已同步", "All synced")
        }
        return if (unread > 0) status + pick(lang, " · $unread 条未读通知", " · $unread unread notices") else status
    }
}

/** Pull-to-refresh and the sync bar: one sync at a time, cancellable, progress as it goes. */
class SyncController(
    private val client: XunchaClient,
    private val dispatch: Dispatch,
    private val lang: Lang,
) {
    val state = State(SyncUi(pending = client.pendingCount().toLong(), unread = client.unreadNotices().toLong()))
    private var token: CancelToken? = null

    /** Start a sync unless one runs; [then] gets the summary (null on failure) on main. */
    fun syncNow(then: (SyncSummary?) -> Unit = {}) {
        if (state.value.running) return
        val cancel = CancelToken()
        token = cancel
        state.set(state.value.copy(running = true, problem = null, phase = null, done = 0, total = 0))
        dispatch.background {
            val listener = object : SyncListener {
                override fun onProgress(phase: SyncPhase, done: ULong, total: ULong) {
                    dispatch.main {
                        state.set(state.value.copy(phase = phase, done = done.toLong(), total = total.toLong()))
                    }
                }
            }
            val outcome = runCatching { client.sync(listener, cancel) }
            val pending = runCatching { client.pendingCount().toLong() }.getOrDefault(state.value.pending)
            val unread = runCatching { client.unreadNotices().toLong() }.getOrDefault(state.value.unread)
            dispatch.main {
                state.set(
                    state.value.copy(
                        running = false,
                        pending = pending,
                        unread = unread,
                        lastSummary = outcome.getOrNull() ?: state.value.lastSummary,
                        problem = outcome.exceptionOrNull()?.let { problemOf(it, lang) },
                    ),
                )
                then(outcome.getOrNull())
            }
        }
    }

    fun cancel() {
        token?.cancel()
    }

    /** After a local action: the pending count (and the unread count) changed. */
    fun refreshPending() {
        state.set(state.value.copy(pending = client.pendingCount().toLong(), unread = client.unreadNotices().toLong()))
    }
}

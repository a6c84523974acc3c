package cn.xuncha.app.core

import cn.xuncha.ffi.Lang
import cn.xuncha.ffi.NoticeInfo
import cn.xuncha.ffi.RejectionInfo
import cn.xuncha.ffi.SessionInfo
import cn.xuncha.ffi.XunchaClient
import cn.xuncha.ffi.actionLabel

/** 退回记录: operations the server refused, with its reasons, newest first. */
class InboxViewModel(private val client: XunchaClient, private val lang: Lang) {
    data class Row(val caseId: String, val action: String, val reason: String, val atMs: Long, val code: String)

    val state = State<List<Row>>(emptyList())

    fun load() {
        state.set(client.rejections().map { r: RejectionInfo -> Row(r.caseId, actionLabel(r.action, lang), r.reason, r.rejectedAtMs, r.code) })
    }
}

/** 通知: the person's notices, newest first; opening one marks it read (offline too) and says
 *  which case to show; the server hears of the read on the next sync. */
class NoticesViewModel(private val client: XunchaClient, private val sync: SyncController) {
    data class Row(val id: String, val title: String, val text: String, val caseId: String, val atMs: Long, val read: Boolean)

    val state = State<List<Row>>(emptyList())

    fun load() {
        state.set(client.notices(200u).map { n: NoticeInfo -> Row(n.id, n.title, n.text, n.caseId, n.createdMs, n.read) })
    }

    /** Mark [id] read and return its case, for the case screen. */
    fun open(id: String): String? {
        val row = state.value.firstOrNull { it.id == id } ?: return null
        client.markNoticeRead(id)
        sync.refreshPending()
        load()
        return row.caseId
    }
}

/** Sign in, the server address, sign out. */
class SessionViewModel(private val client: XunchaClient, private val lang: Lang) {
    data class Ui(val session: SessionInfo?, val serverUrl: String?, val problem: Problem? = null)

    val state = State(Ui(client.session(), client.serverUrl()))

    fun signIn(serverUrl: String, user: String, password: String, deviceName: String): Boolean =
        runCatching { client.signIn(serverUrl.trim(), user.trim(), password, deviceName) }.fold(
            onSuccess = {
                state.set(Ui(it, serverUrl.trim()))
                true
            },
            onFailure = {
                state.set(state.value.copy(problem = problemOf(it, lang)))
                false
            },
        )

    fun signOut() {
        runCatching { client.signOut() }
        state.set(Ui(client.session(), client.serverUrl()))
    }
}

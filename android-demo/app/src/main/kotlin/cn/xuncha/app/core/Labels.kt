package cn.xuncha.app.core

/** Labels for the stable names the library uses (statuses, actions, photo kinds, sync phases). */
object Labels {
    private val status = mapOf(
        "submitted" to ("待审核" to "Submitted"),
        "registered" to ("已立案" to "Registered"),
        "rejected" to ("不予立案" to "Rejected"),
        "duplicate" to ("重复" to "Duplicate"),
        "dispatched" to ("已派遣" to "Dispatched"),
        "in_progress" to ("处理中" to "In progress"),
        "return_requested" to ("申请退回" to "Return requested"),
        "rectified" to ("已整改" to "Rectified"),
        "closed" to ("已结案" to "Closed"),
        "parked" to ("挂起" to "Parked"),
    )
    private val action = mapOf(
        "report" to ("上报" to "Report"),
        "edit" to ("修改" to "Edit"),
        "comment" to ("评论" to "Comment"),
        "register" to ("立案" to "Register"),
        "reject" to ("不予立案" to "Reject"),
        "mark_duplicate" to ("标记重复" to "Mark duplicate"),
        "dispatch" to ("派遣" to "Dispatch"),
        "acknowledge" to ("签收" to "Acknowledge"),
        "rectify" to ("整改" to "Rectify"),
        "request_return" to ("申请退回" to "Request return"),
        "grant_return" to ("同意退回" to "Grant return"),
        "refuse_return" to ("不同意退回" to "Refuse return"),
        "request_extension" to ("申请延期" to "Request extension"),
        "grant_extension" to ("同意延期" to "Grant extension"),
        "refuse_extension" to ("不同意延期" to "Refuse extension"),
        "verify_pass" to ("核查通过" to "Verify: pass"),
        "verify_fail" to ("核查不通过" to "Verify: send back"),
        "reopen" to ("重新打开" to "Reopen"),
        "park" to ("挂起" to "Park"),
    )
    private val phase = mapOf(
        "push" to ("正在上传记录" to "Sending records"),
        "photos" to ("正在上传照片" to "Uploading photos"),
        "pull" to ("正在接收更新" to "Receiving updates"),
        "done" to ("同步完成" to "Synced"),
    )

    private fun of(map: Map<String, Pair<String, String>>, key: String, lang: Lang) =
        map[key]?.let { pick(lang, it.first, it.second) } ?: key

    fun status(name: String, lang: Lang) = of(status, name, lang)
    fun action(name: String, lang: Lang) = of(action, name, lang)
    fun phase(name: String, lang: Lang) = of(phase, name, lang)
}

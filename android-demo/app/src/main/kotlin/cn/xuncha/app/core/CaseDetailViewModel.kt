package cn.xuncha.app.core

import cn.xuncha.ffi.CaseAction
import cn.xuncha.ffi.CaseSummary
import cn.xuncha.ffi.NewPhoto
import cn.xuncha.ffi.PhotoInfo
import cn.xuncha.ffi.TimelineEntry
import cn.xuncha.ffi.XunchaClient

/** An action button and what its form must ask for. */
data class ActionChoice(
    val name: String,
    val label: String,
    val needsText: Boolean,
    val needsPhoto: Boolean,
    val needsUnit: Boolean,
)

data class CaseDetailUi(
    val case: CaseSummary? = null,
    val before: List<PhotoInfo> = emptyList(),
    val after: List<PhotoInfo> = emptyList(),
    val timeline: List<TimelineEntry> = emptyList(),
    val actions: List<ActionChoice> = emptyList(),
    val problem: Problem? = null,
)

/** Case detail: before/after photos, the timeline, and the actions my role may take now. */
class CaseDetailViewModel(
    private val client: XunchaClient,
    private val sync: SyncController,
    private val lang: Lang,
    val caseId: String,
) {
    val state = State(CaseDetailUi())

    private val reasonActions = setOf(
        "reject", "request_return", "refuse_return", "request_extension", "refuse_extension",
        "verify_fail", "reopen", "park", "comment",
    )
    private val photoActions = setOf("rectify")

    fun load() {
        runCatching { client.caseDetail(caseId) }
            .onSuccess { d ->
                state.set(
                    CaseDetailUi(
                        case = d.case,
                        before = d.photos.filter { it.kind == "before" },
                        after = d.photos.filter { it.kind == "after" || it.kind == "verify" },
                        timeline = d.timeline,
                        actions = d.allowedActions.filter { it != "edit" }.map { a ->
                            ActionChoice(a, Labels.action(a, lang), a in reasonActions, a in photoActions, a == "dispatch")
                        },
                    ),
                )
            }
            .onFailure { state.set(state.value.copy(problem = problemOf(it, lang))) }
    }

    /** A photo's file, fetched from the server the first time it is opened. */
    fun photoFile(p: PhotoInfo): Result<String> =
        p.localPath?.let { Result.success(it) } ?: runCatching { client.downloadPhoto(p.sha256) }

    /**
     * Take action [name] with the form's [text], [photos] and [unitId]. The library decides
     * whether it is allowed; a refusal comes back as a problem to show, and nothing changes.
     */
    fun perform(name: String, text: String = "", photos: List<NewPhoto> = emptyList(), unitId: String? = null): Boolean {
        val action = when (name) {
            "comment" -> CaseAction.Comment(text)
            "register" -> CaseAction.Register(text)
            "reject" -> CaseAction.Reject(text)
            "dispatch" -> CaseAction.Dispatch(unitId ?: state.value.case?.suggestedUnitId ?: "", null, text)
            "acknowledge" -> CaseAction.Acknowledge(text)
            "rectify" -> CaseAction.Rectify(text)
            "request_return" -> CaseAction.RequestReturn(text)
            "grant_return" -> CaseAction.GrantReturn(text)
            "refuse_return" -> CaseAction.RefuseReturn(text)
            "request_extension" -> CaseAction.RequestExtension(text, state.value.case?.deadlineMs?.plus(3 * 86_400_000L))
            "grant_extension" -> CaseAction.GrantExtension(null, text)
            "refuse_extension" -> CaseAction.RefuseExtension(text)
            "verify_pass" -> CaseAction.VerifyPass(text)
            "verify_fail" -> CaseAction.VerifyFail(text, null)
            "reopen" -> CaseAction.Reopen(text, null)
            "park" -> CaseAction.Park(text)
            else -> {
                state.set(state.value.copy(problem = Problem("unknown_action", pick(lang, "未知操作：$name", "Unknown action: $name"))))
                return false
            }
        }
        return runCatching { client.act(caseId, action, photos) }.fold(
            onSuccess = {
                sync.refreshPending()
                load()
                true
            },
            onFailure = {
                state.set(state.value.copy(problem = problemOf(it, lang)))
                false
            },
        )
    }
}

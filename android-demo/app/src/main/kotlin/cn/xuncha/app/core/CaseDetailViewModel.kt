package cn.xuncha.app.core

import cn.xuncha.ffi.Action
import cn.xuncha.ffi.ActionFields
import cn.xuncha.ffi.CaseSummary
import cn.xuncha.ffi.Lang
import cn.xuncha.ffi.NewPhoto
import cn.xuncha.ffi.Offer
import cn.xuncha.ffi.PhotoInfo
import cn.xuncha.ffi.PhotoKind
import cn.xuncha.ffi.Requirement
import cn.xuncha.ffi.TimelineEntry
import cn.xuncha.ffi.XunchaClient
import cn.xuncha.ffi.actionLabel
import cn.xuncha.ffi.photoKindFor
import cn.xuncha.ffi.requirementLabel

/**
 * An action button and the form its offer asks for. The library's transition table decides both
 * which actions are offered and which inputs each form shows; nothing here lists actions.
 */
data class ActionChoice(val offer: Offer, val label: String, val lang: Lang) {
    val action: Action get() = offer.action

    /** The form needs this input. */
    fun asks(r: Requirement) = r in offer.inputs

    /** A reason is required (otherwise the text field is an optional note). */
    val asksReason get() = asks(Requirement.REASON)
    val asksUnit get() = asks(Requirement.UNIT)
    val asksDeadline get() = asks(Requirement.DEADLINE)
    val asksNewDeadline get() = asks(Requirement.NEW_DEADLINE)
    val asksDuplicateTarget get() = asks(Requirement.DUPLICATE_TARGET)
    val asksPhoto get() = asks(Requirement.AFTER_PHOTO) || asks(Requirement.VERIFY_PHOTO)

    /** What the camera is for, when the form asks for a photo (after-photo, on-site photo). */
    val photoKind: PhotoKind? get() = if (asksPhoto) photoKindFor(offer.action) else null

    /** The labels of the form's fields, in the table's order (填写原因, 新的处置时限…). */
    val fieldLabels: List<String> get() = offer.inputs.map { requirementLabel(it, lang) }
}

/** What a person filled in on an action's form; fields the offer does not ask for stay empty. */
data class ActionForm(
    val text: String = "",
    val unitId: String? = null,
    val deadlineMs: Long? = null,
    val untilMs: Long? = null,
    val duplicateOf: String? = null,
    val photos: List<NewPhoto> = emptyList(),
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

    /** The units a dispatch form offers, as the library allows this person (a district's
     *  supervisor: the district's and the city-wide ones), with the case's suggested one first. */
    fun dispatchUnits(): List<cn.xuncha.ffi.UnitInfo> {
        val units = client.dispatchUnits()
        val suggested = state.value.case?.suggestedUnitId
        return units.sortedBy { if (it.id == suggested) 0 else 1 }
    }

    fun load() {
        runCatching { client.caseDetail(caseId) }
            .onSuccess { d ->
                state.set(
                    CaseDetailUi(
                        case = d.case,
                        before = d.photos.filter { it.kind == PhotoKind.BEFORE },
                        after = d.photos.filter { it.kind == PhotoKind.AFTER || it.kind == PhotoKind.VERIFY },
                        timeline = d.timeline,
                        // Field edits have their own screen (the report form).
                        actions = d.allowedActions.filter { it.action != Action.EDIT }
                            .map { ActionChoice(it, actionLabel(it.action, lang), lang) },
                    ),
                )
            }
            .onFailure { state.set(state.value.copy(problem = problemOf(it, lang))) }
    }

    /** The choice for [action], if it is offered now. */
    fun choice(action: Action): ActionChoice? = state.value.actions.firstOrNull { it.action == action }

    /** A photo's file, fetched from the server the first time it is opened. */
    fun photoFile(p: PhotoInfo): Result<String> =
        p.localPath?.let { Result.success(it) } ?: runCatching { client.downloadPhoto(p.sha256) }

    /**
     * Take [action] with what its form holds. The library decides whether it is allowed and
     * whether every input it needs is there; a refusal comes back as a problem to show, and
     * nothing changes.
     */
    fun perform(action: Action, form: ActionForm = ActionForm()): Boolean {
        val fields = ActionFields(form.text, form.unitId, form.deadlineMs, form.untilMs, form.duplicateOf)
        return runCatching { client.act(caseId, action, fields, form.photos) }.fold(
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

package cn.xuncha.app.core

import cn.xuncha.ffi.CheckEntry
import cn.xuncha.ffi.Finding
import cn.xuncha.ffi.IndicatorInfo
import cn.xuncha.ffi.Lang
import cn.xuncha.ffi.NewPhoto
import cn.xuncha.ffi.Place
import cn.xuncha.ffi.RecheckOutcome
import cn.xuncha.ffi.RoundKind
import cn.xuncha.ffi.ScoringRule
import cn.xuncha.ffi.TaskInfo
import cn.xuncha.ffi.TaskState
import cn.xuncha.ffi.XunchaClient
import cn.xuncha.ffi.recheckOutcomeLabel
import cn.xuncha.ffi.roundKindLabel
import cn.xuncha.ffi.taskStateLabel

/**
 * 今日点位 ("my sites today"): the person's round tasks as the last sync brought them, open ones
 * first and nearest first from the last location fix — works with no network. Every word and
 * every order is the library's.
 */
class TasksViewModel(private val client: XunchaClient, private val lang: Lang) {
    data class Row(
        val taskId: String,
        val round: String,
        val kind: String,
        val isRecheck: Boolean,
        val place: String,
        val placeKind: String,
        val state: String,
        val open: Boolean,
        val waitingToSend: Boolean,
        /** "320 m" when the phone's position is known. */
        val distance: String?,
    )

    val state = State<List<Row>>(emptyList())
    private var here: Place? = null

    fun load() {
        state.set(client.tasks(here).map { t: TaskInfo -> row(t) })
    }

    /** A location fix: the list is ordered by distance from here. */
    fun located(lat: Double, lon: Double, accuracyM: Double?) {
        here = Place(lat, lon, accuracyM, "")
        load()
    }

    private fun row(t: TaskInfo) = Row(
        taskId = t.taskId,
        round = t.roundName,
        kind = roundKindLabel(t.roundKind, lang),
        isRecheck = t.roundKind == RoundKind.RECHECK,
        place = t.placeName,
        placeKind = t.placeKind,
        state = taskStateLabel(t.state, lang),
        open = t.state == TaskState.OPEN,
        waitingToSend = t.submittedHere,
        distance = t.distanceM?.let { if (it < 1000) "${it.toInt()} m" else "%.1f km".format(it / 1000) },
    )
}

/**
 * 测评表: a site's checklist from the standard, filled in indicator by indicator (a pass/fail,
 * a count of occurrences, or a count over units, as each indicator's rule asks), a photo for
 * each deduction, the points as the library scores them so far; submitting saves it on the
 * device (offline) for the next sync. The library refuses what the server would refuse.
 */
class ChecklistViewModel(
    private val client: XunchaClient,
    private val sync: SyncController,
    private val lang: Lang,
    private val taskId: String,
) {
    data class Line(val indicator: IndicatorInfo, val finding: Finding?, val note: String, val photos: List<NewPhoto>)

    data class Ui(
        val lines: List<Line> = emptyList(),
        /** "得分 6/13（46.2%）" as scored so far. */
        val score: String = "",
        val problem: Problem? = null,
        val submitted: Boolean = false,
    )

    val state = State(Ui())
    private var here: Place? = null

    fun load() {
        val lines = client.checklist(taskId).map { Line(it, null, "", emptyList()) }
        state.set(Ui(lines = lines))
        rescore()
    }

    fun located(lat: Double, lon: Double, accuracyM: Double?) {
        here = Place(lat, lon, accuracyM, "")
    }

    /** What the indicator's input asks for, in words ("是否达标", "发现几处", "应有/实有"). */
    fun prompt(indicator: IndicatorInfo): String = when (val r = indicator.rule) {
        is ScoringRule.PassFail -> pick(lang, "是否达标", "Met?")
        is ScoringRule.PerOccurrence -> pick(lang, "发现问题几处（每处扣 ${r.deduct} 分）", "Problems found (−${r.deduct} each)")
        is ScoringRule.Quota -> pick(lang, "每${r.unitLabel}应有 ${r.perUnit}，实有几处", "Found, against ${r.perUnit} per ${r.unitLabel}")
    }

    fun record(code: String, finding: Finding) = update(code) { it.copy(finding = finding) }

    fun note(code: String, text: String) = update(code) { it.copy(note = text) }

    fun addPhoto(code: String, path: String, takenAtMs: Long) =
        update(code) { it.copy(photos = it.photos + NewPhoto(path = path, bytes = null, capturedAtMs = takenAtMs, place = here)) }

    /** Save on the device; false (with the library's reason) when something is missing. */
    fun submit(note: String): Boolean {
        val entries = entries() ?: run {
            val left = state.value.lines.first { it.finding == null }.indicator.code
            state.set(state.value.copy(problem = Problem("indicator_unrecorded", pick(lang, "指标 $left 未填写", "Indicator $left is not filled in"))))
            return false
        }
        return runCatching { client.submitCheck(taskId, entries, here, note) }.fold(
            onSuccess = {
                sync.refreshPending()
                state.set(state.value.copy(submitted = true, problem = null))
                true
            },
            onFailure = {
                state.set(state.value.copy(problem = problemOf(it, lang)))
                false
            },
        )
    }

    private fun entries(): List<CheckEntry>? {
        val lines = state.value.lines
        if (lines.any { it.finding == null }) return null
        return lines.map { CheckEntry(it.indicator.code, it.finding!!, it.note, it.photos) }
    }

    private fun update(code: String, change: (Line) -> Line) {
        state.set(state.value.copy(lines = state.value.lines.map { if (it.indicator.code == code) change(it) else it }, problem = null))
        rescore()
    }

    private fun rescore() {
        val filled = state.value.lines.filter { it.finding != null }.map { CheckEntry(it.indicator.code, it.finding!!, "", emptyList()) }
        val s = runCatching { client.checklistScore(taskId, filled) }.getOrNull() ?: return
        val rate = s.rate?.let { "%.1f%%".format(it * 100) } ?: "—"
        val points = "%s/%s".format(trim(s.points), trim(s.possible))
        state.set(state.value.copy(score = pick(lang, "得分 $points（$rate）", "Points $points ($rate)")))
    }

    private fun trim(v: Double): String = if (v == Math.floor(v)) v.toLong().toString() else "%.1f".format(v)
}

/** 回头看: a closed case re-checked on site — still fixed or recurred, with a photo of now. */
class RecheckViewModel(
    private val client: XunchaClient,
    private val sync: SyncController,
    private val lang: Lang,
    private val taskId: String,
) {
    data class Ui(val photos: List<NewPhoto> = emptyList(), val problem: Problem? = null, val submitted: Boolean = false)

    val state = State(Ui())
    private var here: Place? = null

    /** The two answers, as their buttons say them. */
    val outcomes: List<Pair<RecheckOutcome, String>> =
        listOf(RecheckOutcome.HELD, RecheckOutcome.RECURRED).map { it to recheckOutcomeLabel(it, lang) }

    fun located(lat: Double, lon: Double, accuracyM: Double?) {
        here = Place(lat, lon, accuracyM, "")
    }

    fun addPhoto(path: String, takenAtMs: Long) =
        state.set(state.value.copy(photos = state.value.photos + NewPhoto(path = path, bytes = null, capturedAtMs = takenAtMs, place = here)))

    fun submit(outcome: RecheckOutcome, note: String): Boolean =
        runCatching { client.submitRecheck(taskId, outcome, state.value.photos, here, note) }.fold(
            onSuccess = {
                sync.refreshPending()
                state.set(state.value.copy(submitted = true, problem = null))
                true
            },
            onFailure = {
                state.set(state.value.copy(problem = problemOf(it, lang)))
                false
            },
        )
}

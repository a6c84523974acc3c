package cn.xuncha.app.core

import cn.xuncha.ffi.CaseFilter
import cn.xuncha.ffi.CaseSummary
import cn.xuncha.ffi.Lang
import cn.xuncha.ffi.Role
import cn.xuncha.ffi.Status
import cn.xuncha.ffi.XunchaClient
import cn.xuncha.ffi.finishedStatuses
import cn.xuncha.ffi.openStatuses
import cn.xuncha.ffi.queueStatuses
import cn.xuncha.ffi.statusLabel

/**
 * The tabs of "my cases". Which statuses each holds is the core's: what waits for my role, what
 * is still open (挂账 included), what is finished.
 */
enum class CaseTab(val zh: String, val en: String) {
    TODO("待处理", "To do"),
    OPEN("未结案", "Open"),
    DONE("已办结", "Finished"),
    ALL("全部", "All"),
    ;

    /** The statuses this tab lists for a person of [role] (empty: every status). */
    fun statuses(role: Role?): List<Status> = when (this) {
        TODO -> role?.let { queueStatuses(it) } ?: openStatuses()
        OPEN -> openStatuses()
        DONE -> finishedStatuses()
        ALL -> emptyList()
    }
}

/** One row of the list. */
data class CaseRow(
    val id: String,
    val title: String,
    val status: String,
    val overdue: Boolean,
    val deadlineMs: Long?,
    val address: String,
    val caseNo: String?,
)

data class CaseListUi(
    val tab: CaseTab = CaseTab.TODO,
    val rows: List<CaseRow> = emptyList(),
    val hasMore: Boolean = false,
    val overdueCount: Int = 0,
    val problem: Problem? = null,
)

/** "My cases": tabs by status, an overdue badge, pull-to-refresh = sync. */
class CaseListViewModel(
    private val client: XunchaClient,
    private val sync: SyncController,
    private val dispatch: Dispatch,
    private val lang: Lang,
    private val pageSize: UInt = 50u,
) {
    val state = State(CaseListUi())
    private val categoryNames: Map<String, String> by lazy {
        client.categoryTree().flatMap { it.categories }.associate { it.code to pick(lang, it.name, it.nameEn) }
    }

    fun selectTab(tab: CaseTab) {
        state.set(state.value.copy(tab = tab, rows = emptyList()))
        load(reset = true)
    }

    /** Pull-to-refresh: sync, then show what the device now holds (also after a failed sync). */
    fun refresh() {
        sync.syncNow { load(reset = true) }
    }

    fun loadMore() = load(reset = false)

    fun load(reset: Boolean = true) {
        val current = state.value
        dispatch.background {
            val outcome = runCatching {
                val page = client.listCases(
                    CaseFilter(
                        statuses = current.tab.statuses(client.session()?.role), unitId = null, category = null, siteId = null,
                        reporterId = null, overdue = null, text = null, newestFirst = current.tab == CaseTab.DONE,
                        offset = if (reset) 0u else current.rows.size.toUInt(), limit = pageSize,
                    ),
                )
                val overdue = client.listCases(
                    CaseFilter(emptyList(), null, null, null, null, true, null, false, 0u, 500u),
                ).items.size
                Triple(page.items.map(::row), page.hasMore, overdue)
            }
            dispatch.main {
                outcome.onSuccess { (rows, more, overdue) ->
                    state.set(
                        state.value.copy(
                            rows = if (reset) rows else state.value.rows + rows,
                            hasMore = more, overdueCount = overdue, problem = null,
                        ),
                    )
                }.onFailure { state.set(state.value.copy(problem = problemOf(it, lang))) }
            }
        }
    }

    private fun row(c: CaseSummary) = CaseRow(
        id = c.id,
        title = (categoryNames[c.category] ?: c.category) + if (c.description.isNotBlank()) " · ${c.description}" else "",
        status = statusLabel(c.status, lang),
        overdue = c.overdue,
        deadlineMs = c.deadlineMs,
        address = c.address,
        caseNo = c.caseNo,
    )
}

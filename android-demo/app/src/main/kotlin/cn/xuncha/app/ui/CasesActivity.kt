package cn.xuncha.app.ui

import android.app.Activity
import android.content.Intent
import android.graphics.Color
import android.os.Bundle
import android.widget.ArrayAdapter
import android.widget.ListView
import androidx.swiperefreshlayout.widget.SwipeRefreshLayout
import cn.xuncha.app.R
import cn.xuncha.app.core.CaseListViewModel
import cn.xuncha.app.core.CaseRow
import cn.xuncha.app.core.CaseTab
import cn.xuncha.ffi.Lang

/** 我的案件: tabs by status, an overdue badge, the sync bar; pull down to sync. */
class CasesActivity : Activity() {
    private lateinit var vm: CaseListViewModel

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        if (app.client.session() == null) {
            startActivity(Intent(this, SignInActivity::class.java))
            finish()
            return
        }
        vm = CaseListViewModel(app.client, app.sync, app.dispatch, app.lang)
        val syncBar = text(size = 13f, color = Color.DKGRAY)
        val badge = text(color = Color.RED)
        val tabs = row(*CaseTab.values().map { t ->
            button(if (app.lang == Lang.ZH_CN) t.zh else t.en) { vm.selectTab(t) }
        }.toTypedArray())
        val list = ListView(this)
        val refresh = SwipeRefreshLayout(this).apply {
            addView(list)
            setOnRefreshListener { vm.refresh() }
        }
        val actions = row(
            button(getString(R.string.report)) { startActivity(Intent(this, ReportActivity::class.java)) },
            button(getString(R.string.tasks)) { startActivity(Intent(this, TasksActivity::class.java)) },
            button(getString(R.string.notices)) { startActivity(Intent(this, NoticesActivity::class.java)) },
            button(getString(R.string.inbox)) { startActivity(Intent(this, InboxActivity::class.java)) },
            button(getString(R.string.sign_out)) {
                app.client.signOut()
                startActivity(Intent(this, SignInActivity::class.java))
                finish()
            },
        )
        setContentView(column(syncBar, badge, tabs, actions, refresh))

        app.sync.state.observe { s ->
            syncBar.text = s.label(app.lang)
            refresh.isRefreshing = s.running
        }
        vm.state.observe { ui ->
            badge.text = if (ui.overdueCount > 0) getString(R.string.overdue, ui.overdueCount) else ""
            list.adapter = ArrayAdapter(this, android.R.layout.simple_list_item_2, android.R.id.text1, ui.rows.map(::line))
            list.setOnItemClickListener { _, _, i, _ ->
                startActivity(Intent(this, CaseActivity::class.java).putExtra("case", ui.rows[i].id))
            }
            ui.problem?.let { syncBar.text = it.message }
        }
        vm.selectTab(CaseTab.TODO)
    }

    override fun onResume() {
        super.onResume()
        if (::vm.isInitialized) vm.load()
    }

    private fun line(r: CaseRow) = (if (r.overdue) "⚠ " else "") + "${r.status} · ${r.title}\n${r.address}"
}

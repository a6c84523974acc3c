package cn.xuncha.app.ui

import android.app.Activity
import android.content.Intent
import android.os.Bundle
import android.text.format.DateFormat
import android.widget.ArrayAdapter
import android.widget.ListView
import cn.xuncha.app.core.NoticesViewModel

/** 通知: the person's notices, unread marked; tapping one marks it read (offline too) and opens
 *  its case. The count of unread ones is on the sync bar of the case list. */
class NoticesActivity : Activity() {
    private lateinit var vm: NoticesViewModel

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        vm = NoticesViewModel(app.client, app.sync)
        val list = ListView(this)
        setContentView(list)
        vm.state.observe { rows ->
            list.adapter = ArrayAdapter(
                this, android.R.layout.simple_list_item_1,
                rows.map {
                    (if (it.read) "" else "● ") + "${it.title} · ${DateFormat.format("MM-dd HH:mm", it.atMs)}\n${it.text}"
                },
            )
            list.setOnItemClickListener { _, _, i, _ ->
                vm.open(rows[i].id)?.let { case ->
                    startActivity(Intent(this, CaseActivity::class.java).putExtra("case", case))
                }
            }
        }
    }

    override fun onResume() {
        super.onResume()
        vm.load()
    }
}

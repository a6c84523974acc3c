package cn.xuncha.app.ui

import android.app.Activity
import android.os.Bundle
import android.text.format.DateFormat
import android.widget.ArrayAdapter
import android.widget.ListView
import cn.xuncha.app.core.InboxViewModel

/** 退回记录: what the server refused and why. */
class InboxActivity : Activity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val vm = InboxViewModel(app.client, app.lang)
        val list = ListView(this)
        setContentView(list)
        vm.state.observe { rows ->
            list.adapter = ArrayAdapter(
                this, android.R.layout.simple_list_item_1,
                rows.map { "${it.action} · ${DateFormat.format("MM-dd HH:mm", it.atMs)}\n${it.reason}" },
            )
        }
        vm.load()
    }
}

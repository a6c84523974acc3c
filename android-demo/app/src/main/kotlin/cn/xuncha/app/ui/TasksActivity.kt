package cn.xuncha.app.ui

import android.content.Intent
import android.location.Location
import android.os.Bundle
import android.widget.ArrayAdapter
import android.widget.ListView
import cn.xuncha.app.R
import cn.xuncha.app.core.TasksViewModel

/**
 * 今日点位: the person's round tasks, open first and nearest first from where the phone stands
 * (no network needed); a site opens its checklist, a 回头看 case its re-check.
 */
class TasksActivity : FieldActivity() {
    private lateinit var vm: TasksViewModel

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        vm = TasksViewModel(app.client, app.lang)
        val list = ListView(this)
        setContentView(column(text(getString(R.string.tasks), 18f), list))
        vm.state.observe { rows ->
            list.adapter = ArrayAdapter(
                this, android.R.layout.simple_list_item_1,
                rows.map { r ->
                    val mark = if (r.waitingToSend) " ⇡" else ""
                    "${r.state}$mark · ${r.place}（${r.placeKind}）${r.distance?.let { " · $it" } ?: ""}\n${r.kind} · ${r.round}"
                },
            )
            list.setOnItemClickListener { _, _, i, _ ->
                val r = rows[i]
                if (r.open) {
                    val screen = if (r.isRecheck) RecheckActivity::class.java else ChecklistActivity::class.java
                    startActivity(Intent(this, screen).putExtra("task", r.taskId).putExtra("title", r.place))
                }
            }
        }
        startLocation()
    }

    override fun onResume() {
        super.onResume()
        vm.load()
    }

    override fun onPhoto(tag: String?, path: String, takenAtMs: Long) {}

    override fun onLocated(location: Location) =
        vm.located(location.latitude, location.longitude, location.accuracy.toDouble())
}

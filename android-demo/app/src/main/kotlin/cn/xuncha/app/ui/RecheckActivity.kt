package cn.xuncha.app.ui

import android.graphics.Color
import android.location.Location
import android.os.Bundle
import android.widget.EditText
import cn.xuncha.app.R
import cn.xuncha.app.core.RecheckViewModel

/**
 * 回头看: the case to re-check (it came with the task), a photo of the site now, and the answer
 * — still fixed, or recurred (which reopens the case to its unit on the next sync).
 */
class RecheckActivity : FieldActivity() {
    private lateinit var vm: RecheckViewModel

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val task = intent.getStringExtra("task") ?: return finish()
        vm = RecheckViewModel(app.client, app.sync, app.lang, task)
        val info = app.client.tasks(null).firstOrNull { it.taskId == task }
        val photos = text(size = 13f)
        val message = text(color = Color.RED)
        val note = EditText(this).apply { hint = getString(R.string.text_hint) }
        val answers = row(*vm.outcomes.map { (outcome, label) ->
            button(label) {
                if (vm.submit(outcome, note.text.toString())) finish() else message.text = vm.state.value.problem?.message
            }
        }.toTypedArray())
        setContentView(
            column(
                text(info?.placeName ?: "", 18f),
                text(info?.caseDescription ?: "", 15f),
                text(info?.address ?: "", 13f, Color.DKGRAY),
                button(getString(R.string.take_photo)) { takePhoto() },
                photos,
                note,
                answers,
                message,
            ),
        )
        vm.state.observe { s -> photos.text = "📷 × ${s.photos.size}" }
        startLocation()
    }

    override fun onPhoto(tag: String?, path: String, takenAtMs: Long) = vm.addPhoto(path, takenAtMs)

    override fun onLocated(location: Location) =
        vm.located(location.latitude, location.longitude, location.accuracy.toDouble())
}

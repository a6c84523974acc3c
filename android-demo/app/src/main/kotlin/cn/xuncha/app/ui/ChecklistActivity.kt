package cn.xuncha.app.ui

import android.graphics.Color
import android.location.Location
import android.os.Bundle
import android.text.InputType
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.ScrollView
import cn.xuncha.app.R
import cn.xuncha.app.core.ChecklistViewModel
import cn.xuncha.ffi.Finding
import cn.xuncha.ffi.ScoringRule

/**
 * 测评表: one block per indicator, asking what its rule asks (达标 or not; how many problems;
 * how many found over how many units), with a photo button for a deduction; the score so far
 * at the top, as the library computes it. Saving works offline; the library refuses what the
 * server would (an indicator left out, a deduction without a photo).
 */
class ChecklistActivity : FieldActivity() {
    private lateinit var vm: ChecklistViewModel

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val task = intent.getStringExtra("task") ?: return finish()
        vm = ChecklistViewModel(app.client, app.sync, app.lang, task)
        vm.load()
        val score = text(size = 18f)
        val message = text(color = Color.RED)
        val blocks = LinearLayout(this).apply { orientation = LinearLayout.VERTICAL }
        val photoCounts = mutableMapOf<String, android.widget.TextView>()
        for (line in vm.state.value.lines) {
            val ind = line.indicator
            val count = text("📷 × 0", 13f, Color.DKGRAY)
            photoCounts[ind.code] = count
            val input = when (val rule = ind.rule) {
                is ScoringRule.PassFail -> row(
                    button(getString(R.string.met)) { vm.record(ind.code, Finding.Pass) },
                    button(getString(R.string.not_met)) { vm.record(ind.code, Finding.Fail) },
                )
                is ScoringRule.PerOccurrence -> number(getString(R.string.occurrences)) { n ->
                    vm.record(ind.code, Finding.Occurrences(n.toUInt()))
                }
                is ScoringRule.Quota -> {
                    var units = 1.0
                    var found = 0
                    row(
                        number(rule.unitLabel) { n -> units = n.toDouble(); vm.record(ind.code, Finding.Counted(found.toUInt(), units)) },
                        number(getString(R.string.found)) { n -> found = n; vm.record(ind.code, Finding.Counted(found.toUInt(), units)) },
                    )
                }
            }
            blocks.addView(
                column(
                    text("${ind.code} ${ind.text}（${ind.points}）", 15f),
                    text(vm.prompt(ind), 13f, Color.DKGRAY),
                    input,
                    row(button(getString(R.string.take_photo)) { takePhoto(ind.code) }, count),
                ),
            )
        }
        val note = EditText(this).apply { hint = getString(R.string.text_hint) }
        val save = button(getString(R.string.save)) {
            if (vm.submit(note.text.toString())) finish() else message.text = vm.state.value.problem?.message
        }
        blocks.addView(column(note, save, message))
        setContentView(column(text(intent.getStringExtra("title") ?: "", 18f), score, ScrollView(this).apply { addView(blocks) }))
        vm.state.observe { s ->
            score.text = s.score
            for (l in s.lines) photoCounts[l.indicator.code]?.text = "📷 × ${l.photos.size}"
            s.problem?.let { message.text = it.message }
        }
        startLocation()
    }

    /** A whole-number field that reports each valid value as it is typed. */
    private fun number(hint: String, changed: (Int) -> Unit) = EditText(this).apply {
        this.hint = hint
        inputType = InputType.TYPE_CLASS_NUMBER
        addTextChangedListener(object : android.text.TextWatcher {
            override fun beforeTextChanged(s: CharSequence?, start: Int, before: Int, after: Int) {}
            override fun onTextChanged(s: CharSequence?, start: Int, before: Int, after: Int) {}
            override fun afterTextChanged(s: android.text.Editable?) {
                s?.toString()?.toIntOrNull()?.takeIf { it >= 0 }?.let(changed)
            }
        })
    }

    override fun onPhoto(tag: String?, path: String, takenAtMs: Long) {
        if (tag != null) vm.addPhoto(tag, path, takenAtMs)
    }

    override fun onLocated(location: Location) =
        vm.located(location.latitude, location.longitude, location.accuracy.toDouble())
}

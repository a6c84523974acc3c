package cn.xuncha.app.ui

import android.app.Activity
import android.app.AlertDialog
import android.app.DatePickerDialog
import android.content.Intent
import android.graphics.BitmapFactory
import android.graphics.Color
import android.os.Bundle
import android.provider.MediaStore
import android.widget.EditText
import android.widget.ArrayAdapter
import android.widget.Spinner
import android.widget.ImageView
import android.widget.LinearLayout
import android.widget.ScrollView
import androidx.core.content.FileProvider
import cn.xuncha.app.R
import cn.xuncha.app.core.ActionChoice
import cn.xuncha.app.core.ActionForm
import cn.xuncha.app.core.CaseDetailViewModel
import cn.xuncha.ffi.NewPhoto
import cn.xuncha.ffi.PhotoInfo
import cn.xuncha.ffi.Requirement
import cn.xuncha.ffi.actionLabel
import cn.xuncha.ffi.requirementLabel
import cn.xuncha.ffi.statusLabel
import java.io.File
import java.text.DateFormat
import java.util.Calendar

/**
 * 案件详情: before and after photos side by side, the timeline, the actions my role may take.
 * Each action's form is built from its offer: a reason field when the table needs one, a unit
 * field, a date picker for a deadline or a new deadline, the original case for a duplicate, the
 * camera for an after-photo or an on-site photo.
 */
class CaseActivity : Activity() {
    private lateinit var vm: CaseDetailViewModel
    private var waitingFor: Pair<ActionChoice, ActionForm>? = null
    private var cameraFile: File? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        vm = CaseDetailViewModel(app.client, app.sync, app.lang, intent.getStringExtra("case") ?: "")
        val header = text(size = 18f)
        val photos = row()
        val actions = LinearLayout(this).apply { orientation = LinearLayout.VERTICAL }
        val timeline = text(size = 13f, color = Color.DKGRAY)
        val message = text(color = Color.RED)
        setContentView(ScrollView(this).apply { addView(column(header, photos, actions, message, timeline)) })

        vm.state.observe { s ->
            val c = s.case ?: return@observe
            header.text = "${c.caseNo ?: ""} ${statusLabel(c.status, app.lang)}${if (c.overdue) " ⚠" else ""}\n${c.description}\n${c.address}"
            photos.removeAllViews()
            (s.before.take(1) + s.after.take(1)).forEach { photos.addView(thumb(it)) }
            actions.removeAllViews()
            s.actions.forEach { a -> actions.addView(button(a.label) { openForm(a) }) }
            timeline.text = s.timeline.joinToString("\n") {
                "${actionLabel(it.action, app.lang)} · ${it.actorId}${if (it.pending) " ⏳" else ""} ${it.text}"
            }
            message.text = s.problem?.message ?: ""
        }
        vm.load()
    }

    /** The action's form: exactly the inputs its offer names, then the camera if it needs a photo. */
    private fun openForm(a: ActionChoice) {
        val text = EditText(this).apply {
            hint = if (a.asksReason) requirementLabel(Requirement.REASON, app.lang) else getString(R.string.text_hint)
        }
        // The units this person may dispatch to (the library's rule), the suggested one first.
        val units = if (a.asksUnit) runCatching { vm.dispatchUnits() }.getOrDefault(emptyList()) else emptyList()
        val unit = Spinner(this).apply {
            adapter = ArrayAdapter(this@CaseActivity, android.R.layout.simple_spinner_dropdown_item, units.map { it.name })
        }
        val duplicateOf = EditText(this).apply { hint = requirementLabel(Requirement.DUPLICATE_TARGET, app.lang) }
        var dateMs: Long? = null
        val date = button(
            requirementLabel(if (a.asksNewDeadline) Requirement.NEW_DEADLINE else Requirement.DEADLINE, app.lang),
        ) {}
        date.setOnClickListener {
            val cal = Calendar.getInstance().apply { vm.state.value.case?.deadlineMs?.let { timeInMillis = it } }
            DatePickerDialog(this, { _, y, m, d ->
                cal.set(y, m, d, 18, 0, 0)
                dateMs = cal.timeInMillis
                date.text = DateFormat.getDateInstance().format(cal.time)
            }, cal.get(Calendar.YEAR), cal.get(Calendar.MONTH), cal.get(Calendar.DAY_OF_MONTH)).show()
        }
        val fields = column(text).apply {
            if (a.asksUnit) addView(unit)
            if (a.asksDeadline || a.asksNewDeadline) addView(date)
            if (a.asksDuplicateTarget) {
                addView(duplicateOf.apply { setText(vm.state.value.case?.probableDuplicates?.firstOrNull() ?: "") })
            }
        }
        AlertDialog.Builder(this)
            .setTitle(a.label)
            .setView(fields)
            .setNegativeButton(android.R.string.cancel, null)
            .setPositiveButton(android.R.string.ok) { _, _ ->
                val form = ActionForm(
                    text = text.text.toString(),
                    unitId = units.getOrNull(unit.selectedItemPosition)?.id,
                    deadlineMs = if (a.asksDeadline) dateMs else null,
                    untilMs = if (a.asksNewDeadline) dateMs else null,
                    duplicateOf = duplicateOf.text.toString().ifBlank { null },
                )
                if (a.asksPhoto) {
                    waitingFor = a to form
                    takePhoto()
                } else {
                    vm.perform(a.action, form)
                }
            }
            .show()
    }

    private fun thumb(p: PhotoInfo): ImageView = ImageView(this).apply {
        layoutParams = LinearLayout.LayoutParams(0, 400, 1f)
        app.dispatch.background {
            val path = vm.photoFile(p).getOrNull()
            val bmp = path?.let { BitmapFactory.decodeFile(it, BitmapFactory.Options().apply { inSampleSize = 8 }) }
            app.dispatch.main { if (bmp != null) setImageBitmap(bmp) }
        }
    }

    private fun takePhoto() {
        val file = File(File(filesDir, "camera").apply { mkdirs() }, "${System.currentTimeMillis()}.jpg")
        cameraFile = file
        val uri = FileProvider.getUriForFile(this, "cn.xuncha.app.photos", file)
        startActivityForResult(
            Intent(MediaStore.ACTION_IMAGE_CAPTURE).putExtra(MediaStore.EXTRA_OUTPUT, uri)
                .addFlags(Intent.FLAG_GRANT_WRITE_URI_PERMISSION),
            3,
        )
    }

    @Deprecated("platform API, kept for minSdk 24")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        val (a, form) = waitingFor ?: return
        val f = cameraFile
        if (requestCode == 3 && resultCode == RESULT_OK && f != null && f.length() > 0) {
            vm.perform(a.action, form.copy(photos = listOf(NewPhoto(f.path, null, System.currentTimeMillis(), null))))
        }
    }
}

package cn.xuncha.app.ui

import android.app.Activity
import android.content.Intent
import android.graphics.BitmapFactory
import android.graphics.Color
import android.os.Bundle
import android.provider.MediaStore
import android.widget.EditText
import android.widget.ImageView
import android.widget.LinearLayout
import android.widget.ScrollView
import androidx.core.content.FileProvider
import cn.xuncha.app.R
import cn.xuncha.app.core.ActionChoice
import cn.xuncha.app.core.CaseDetailViewModel
import cn.xuncha.app.core.Labels
import cn.xuncha.ffi.NewPhoto
import cn.xuncha.ffi.PhotoInfo
import java.io.File

/** 案件详情: before and after photos side by side, the timeline, the actions my role may take. */
class CaseActivity : Activity() {
    private lateinit var vm: CaseDetailViewModel
    private var waitingFor: ActionChoice? = null
    private var afterPhoto: File? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        vm = CaseDetailViewModel(app.client, app.sync, app.lang, intent.getStringExtra("case") ?: "")
        val header = text(size = 18f)
        val photos = row()
        val note = EditText(this).apply { hint = getString(R.string.text_hint) }
        val unit = EditText(this).apply { hint = getString(R.string.unit) }
        val actions = LinearLayout(this).apply { orientation = LinearLayout.VERTICAL }
        val timeline = text(size = 13f, color = Color.DKGRAY)
        val message = text(color = Color.RED)
        setContentView(ScrollView(this).apply { addView(column(header, photos, note, unit, actions, message, timeline)) })

        vm.state.observe { s ->
            val c = s.case ?: return@observe
            header.text = "${c.caseNo ?: ""} ${Labels.status(c.status, app.lang)}${if (c.overdue) " ⚠" else ""}\n${c.description}\n${c.address}"
            photos.removeAllViews()
            (s.before.take(1) + s.after.take(1)).forEach { photos.addView(thumb(it)) }
            actions.removeAllViews()
            s.actions.forEach { a ->
                actions.addView(button(a.label) {
                    if (a.needsPhoto) {
                        waitingFor = a
                        takeAfterPhoto()
                    } else {
                        vm.perform(a.name, note.text.toString(), unitId = unit.text.toString().ifBlank { null })
                    }
                })
            }
            unit.visibility = if (s.actions.any { it.needsUnit }) android.view.View.VISIBLE else android.view.View.GONE
            timeline.text = s.timeline.joinToString("\n") {
                "${Labels.action(it.action, app.lang)} · ${it.actorId}${if (it.pending) " ⏳" else ""} ${it.text}"
            }
            message.text = s.problem?.message ?: ""
        }
        vm.load()
    }

    private fun thumb(p: PhotoInfo): ImageView = ImageView(this).apply {
        layoutParams = LinearLayout.LayoutParams(0, 400, 1f)
        app.dispatch.background {
            val path = vm.photoFile(p).getOrNull()
            val bmp = path?.let { BitmapFactory.decodeFile(it, BitmapFactory.Options().apply { inSampleSize = 8 }) }
            app.dispatch.main { if (bmp != null) setImageBitmap(bmp) }
        }
    }

    private fun takeAfterPhoto() {
        val file = File(File(filesDir, "camera").apply { mkdirs() }, "${System.currentTimeMillis()}.jpg")
        afterPhoto = file
        val uri = FileProvider.getUriForFile(this, "cn.xuncha.app.photos", file)
        startActivityForResult(
            Intent(MediaStore.ACTION_IMAGE_CAPTURE).putExtra(MediaStore.EXTRA_OUTPUT, uri)
                .addFlags(Intent.FLAG_GRANT_WRITE_URI_PERMISSION),
            3,
        )
    }

    @Deprecated("platform API, kept for minSdk 24")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        val a = waitingFor
        val f = afterPhoto
        if (requestCode == 3 && resultCode == RESULT_OK && a != null && f != null && f.length() > 0) {
            vm.perform(a.name, "", listOf(NewPhoto(f.path, null, System.currentTimeMillis(), null)))
        }
    }
}

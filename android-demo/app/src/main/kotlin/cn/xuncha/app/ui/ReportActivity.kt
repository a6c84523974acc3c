package cn.xuncha.app.ui

import android.graphics.Color
import android.location.Location
import android.os.Bundle
import android.widget.AdapterView
import android.widget.ArrayAdapter
import android.widget.EditText
import android.widget.Spinner
import cn.xuncha.app.R
import cn.xuncha.ffi.Lang
import cn.xuncha.app.core.ReportViewModel

/**
 * 上报: the camera and the location ([FieldActivity]), the category picker and nearby sites.
 * Saving works offline; the case waits for the next sync.
 */
class ReportActivity : FieldActivity() {
    private lateinit var vm: ReportViewModel

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        vm = ReportViewModel(app.client, app.sync, app.lang)
        val zh = app.lang == Lang.ZH_CN
        val categories = vm.state.value.categories.flatMap { g -> g.categories.map { g to it } }
        val picker = Spinner(this).apply {
            adapter = ArrayAdapter(
                this@ReportActivity, android.R.layout.simple_spinner_dropdown_item,
                categories.map { (g, c) -> if (zh) "${g.name} / ${c.name}" else "${g.nameEn} / ${c.nameEn}" },
            )
            onItemSelectedListener = object : AdapterView.OnItemSelectedListener {
                override fun onItemSelected(p: AdapterView<*>?, v: android.view.View?, i: Int, id: Long) =
                    vm.chooseCategory(categories[i].second.code)

                override fun onNothingSelected(p: AdapterView<*>?) {}
            }
        }
        val description = EditText(this).apply { hint = getString(R.string.description) }
        // The count under the field, from the core's limit, as the person types.
        val count = text(vm.state.value.descriptionCount, 12f, Color.GRAY)
        description.addTextChangedListener(object : android.text.TextWatcher {
            override fun beforeTextChanged(s: CharSequence?, start: Int, before: Int, after: Int) {}
            override fun onTextChanged(s: CharSequence?, start: Int, before: Int, after: Int) {}
            override fun afterTextChanged(s: android.text.Editable?) = vm.describe(s?.toString() ?: "")
        })
        val where = text(getString(R.string.locating), 13f, Color.DKGRAY)
        val photos = text(size = 13f)
        val message = text(color = Color.RED)
        val camera = button(getString(R.string.take_photo)) { takePhoto() }
        val save = button(getString(R.string.save)) {
            vm.describe(description.text.toString())
            if (vm.submit()) finish() else message.text = vm.state.value.problem?.message
        }
        setContentView(column(picker, description, count, where, camera, photos, save, message))
        vm.state.observe { s ->
            where.text = s.place?.let { p ->
                val site = s.nearbySites.firstOrNull { it.id == s.siteId }
                "%.5f, %.5f ±%.0f m".format(p.lat, p.lon, p.accuracyM ?: 0.0) + (site?.let { " · ${it.name}" } ?: "")
            } ?: getString(R.string.locating)
            photos.text = "📷 × ${s.photos.size}"
            count.text = s.descriptionCount
        }
        startLocation()
    }

    override fun onPhoto(tag: String?, path: String, takenAtMs: Long) = vm.addPhoto(path, takenAtMs)

    override fun onLocated(location: Location) =
        vm.located(location.latitude, location.longitude, location.accuracy.toDouble(), "")
}

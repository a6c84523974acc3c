package cn.xuncha.app.ui

import android.Manifest
import android.app.Activity
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.graphics.Color
import android.location.Location
import android.location.LocationListener
import android.location.LocationManager
import android.os.Bundle
import android.provider.MediaStore
import android.widget.AdapterView
import android.widget.ArrayAdapter
import android.widget.EditText
import android.widget.Spinner
import androidx.core.content.FileProvider
import cn.xuncha.app.R
import cn.xuncha.ffi.Lang
import cn.xuncha.app.core.ReportViewModel
import java.io.File

/**
 * 上报: the system camera (no CameraX needed), the platform LocationManager (no Play Services),
 * the category picker and nearby sites. Saving works offline; the case waits for the next sync.
 */
class ReportActivity : Activity(), LocationListener {
    private lateinit var vm: ReportViewModel
    private var pendingPhoto: File? = null

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

    private fun takePhoto() {
        val dir = File(filesDir, "camera").apply { mkdirs() }
        val file = File(dir, "${System.currentTimeMillis()}.jpg")
        pendingPhoto = file
        val uri = FileProvider.getUriForFile(this, "cn.xuncha.app.photos", file)
        startActivityForResult(
            Intent(MediaStore.ACTION_IMAGE_CAPTURE).putExtra(MediaStore.EXTRA_OUTPUT, uri)
                .addFlags(Intent.FLAG_GRANT_WRITE_URI_PERMISSION),
            1,
        )
    }

    @Deprecated("platform API, kept for minSdk 24")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        val f = pendingPhoto
        if (requestCode == 1 && resultCode == RESULT_OK && f != null && f.length() > 0) {
            vm.addPhoto(f.path, System.currentTimeMillis())
        }
    }

    private fun startLocation() {
        if (checkSelfPermission(Manifest.permission.ACCESS_FINE_LOCATION) != PackageManager.PERMISSION_GRANTED) {
            requestPermissions(arrayOf(Manifest.permission.ACCESS_FINE_LOCATION), 2)
            return
        }
        val lm = getSystemService(Context.LOCATION_SERVICE) as LocationManager
        for (provider in listOf(LocationManager.GPS_PROVIDER, LocationManager.NETWORK_PROVIDER)) {
            if (lm.isProviderEnabled(provider)) {
                lm.getLastKnownLocation(provider)?.let { onLocationChanged(it) }
                lm.requestLocationUpdates(provider, 2_000L, 5f, this)
            }
        }
    }

    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<out String>, grantResults: IntArray) {
        if (grantResults.firstOrNull() == PackageManager.PERMISSION_GRANTED) startLocation()
    }

    override fun onLocationChanged(location: Location) {
        vm.located(location.latitude, location.longitude, location.accuracy.toDouble(), "")
    }

    override fun onDestroy() {
        (getSystemService(Context.LOCATION_SERVICE) as LocationManager).removeUpdates(this)
        super.onDestroy()
    }
}

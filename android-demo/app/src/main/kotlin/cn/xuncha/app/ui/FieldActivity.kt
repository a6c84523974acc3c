package cn.xuncha.app.ui

import android.Manifest
import android.app.Activity
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.location.Location
import android.location.LocationListener
import android.location.LocationManager
import android.provider.MediaStore
import androidx.core.content.FileProvider
import java.io.File

/**
 * A screen used on site (reporting, a checklist, a re-check): the system camera (no CameraX
 * needed) and the platform LocationManager (no Play Services), written once. A photo is taken
 * for a [tag] (the indicator it shows, say) and handed to [onPhoto]; each fix goes to [onLocated].
 */
abstract class FieldActivity : Activity(), LocationListener {
    private var pendingPhoto: File? = null
    private var pendingTag: String? = null

    /** A photo was taken for [tag]; [path] is the file, kept in the app's own folder. */
    protected abstract fun onPhoto(tag: String?, path: String, takenAtMs: Long)

    /** A location fix. */
    protected abstract fun onLocated(location: Location)

    protected fun takePhoto(tag: String? = null) {
        val dir = File(filesDir, "camera").apply { mkdirs() }
        val file = File(dir, "${System.currentTimeMillis()}.jpg")
        pendingPhoto = file
        pendingTag = tag
        val uri = FileProvider.getUriForFile(this, "cn.xuncha.app.photos", file)
        startActivityForResult(
            Intent(MediaStore.ACTION_IMAGE_CAPTURE).putExtra(MediaStore.EXTRA_OUTPUT, uri)
                .addFlags(Intent.FLAG_GRANT_WRITE_URI_PERMISSION),
            CAMERA,
        )
    }

    @Deprecated("platform API, kept for minSdk 24")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        val f = pendingPhoto
        if (requestCode == CAMERA && resultCode == RESULT_OK && f != null && f.length() > 0) {
            onPhoto(pendingTag, f.path, System.currentTimeMillis())
        }
    }

    protected fun startLocation() {
        if (checkSelfPermission(Manifest.permission.ACCESS_FINE_LOCATION) != PackageManager.PERMISSION_GRANTED) {
            requestPermissions(arrayOf(Manifest.permission.ACCESS_FINE_LOCATION), LOCATION)
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
        if (requestCode == LOCATION && grantResults.firstOrNull() == PackageManager.PERMISSION_GRANTED) startLocation()
    }

    override fun onLocationChanged(location: Location) = onLocated(location)

    override fun onDestroy() {
        (getSystemService(Context.LOCATION_SERVICE) as LocationManager).removeUpdates(this)
        super.onDestroy()
    }

    private companion object {
        const val CAMERA = 1
        const val LOCATION = 2
    }
}

package cn.xuncha.app.core

import cn.xuncha.ffi.CategoryGroup
import cn.xuncha.ffi.Lang
import cn.xuncha.ffi.NewCase
import cn.xuncha.ffi.NewPhoto
import cn.xuncha.ffi.Place
import cn.xuncha.ffi.SiteInfo
import cn.xuncha.ffi.XunchaClient
import cn.xuncha.ffi.inputLimits

data class ReportUi(
    val categories: List<CategoryGroup> = emptyList(),
    val category: String? = null,
    val description: String = "",
    val place: Place? = null,
    val nearbySites: List<SiteInfo> = emptyList(),
    val siteId: String? = null,
    val photos: List<NewPhoto> = emptyList(),
    val undercover: Boolean = false,
    /** What the description field shows under it, e.g. `12/2000`. */
    val descriptionCount: String = "",
    val problem: Problem? = null,
    /** The id of the case once saved on the device. */
    val savedCaseId: String? = null,
)

/**
 * 上报: pick a category from the taxonomy, take photos (the system camera writes a file), the
 * platform location (WGS-84, no Play Services needed) suggests nearby sites; saving works with no
 * network — the case waits in the outbox until the next sync.
 */
class ReportViewModel(
    private val client: XunchaClient,
    private val sync: SyncController,
    private val lang: Lang,
) {
    private val limits = inputLimits()
    private val descriptionMax = limits.fields.first { it.field == "description" }.maxChars.toInt()
    val state = State(ReportUi(categories = client.categoryTree(), descriptionCount = "0/$descriptionMax"))

    fun chooseCategory(code: String) = state.set(state.value.copy(category = code, problem = null))

    /** The description as typed, stopped at its limit (counted in characters, as the core counts). */
    fun describe(text: String) {
        val chars = text.codePointCount(0, text.length)
        val kept = if (chars <= descriptionMax) text else text.substring(0, text.offsetByCodePoints(0, descriptionMax))
        val count = minOf(chars, descriptionMax)
        state.set(state.value.copy(description = kept, descriptionCount = "$count/$descriptionMax"))
    }

    fun markUndercover(on: Boolean) = state.set(state.value.copy(undercover = on))

    /** A location fix: suggests sites within 300 m, nearest first, and picks the nearest. */
    fun located(lat: Double, lon: Double, accuracyM: Double?, address: String) {
        val place = Place(lat, lon, accuracyM, address)
        val sites = runCatching { client.sitesNear(lat, lon, 300.0, 5u) }.getOrDefault(emptyList())
        state.set(state.value.copy(place = place, nearbySites = sites, siteId = sites.firstOrNull()?.id))
    }

    fun chooseSite(id: String?) = state.set(state.value.copy(siteId = id))

    /** A photo the camera wrote to [path], taken at [takenAtMs]. */
    fun addPhoto(path: String, takenAtMs: Long) {
        val max = limits.photosPerAction.toInt()
        if (state.value.photos.size >= max) {
            state.set(state.value.copy(problem = Problem("too_many", pick(lang, "一次最多 $max 张照片", "At most $max photos at once"))))
            return
        }
        val p = NewPhoto(path = path, bytes = null, capturedAtMs = takenAtMs, place = state.value.place)
        state.set(state.value.copy(photos = state.value.photos + p))
    }

    fun removePhoto(index: Int) =
        state.set(state.value.copy(photos = state.value.photos.filterIndexed { i, _ -> i != index }))

    /** Save the report on the device; false (with a problem to show) if something is missing. */
    fun submit(): Boolean {
        val s = state.value
        val missing = when {
            s.category == null -> Problem("missing_category", pick(lang, "请选择问题类别", "Choose a problem category"))
            s.place == null -> Problem("missing_location", pick(lang, "还没有定位，请稍候或到开阔处", "No location yet: wait or move into the open"))
            s.photos.isEmpty() -> Problem("missing_photo", pick(lang, "请至少拍一张现场照片", "Take at least one photo"))
            else -> null
        }
        if (missing != null) {
            state.set(s.copy(problem = missing))
            return false
        }
        return runCatching {
            client.report(NewCase(s.category!!, s.description, s.place!!, s.siteId, null, s.undercover, s.photos))
        }.fold(
            onSuccess = { id ->
                state.set(ReportUi(categories = s.categories, savedCaseId = id))
                sync.refreshPending()
                true
            },
            onFailure = {
                state.set(s.copy(problem = problemOf(it, lang)))
                false
            },
        )
    }
}

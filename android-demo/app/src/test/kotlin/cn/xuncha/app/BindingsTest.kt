package cn.xuncha.app

import cn.xuncha.ffi.*
import java.io.File
import kotlin.system.exitProcess

/**
 * The generated Kotlin bindings against the real library and a real server: the flows of the
 * people who hold the phones, and errors as typed exceptions with the core's stable codes.
 */
fun main() {
    val server = DemoServer()
    val here = Place(lat = 30.2552, lon = 120.1552, accuracyM = 5.0, address = "演示路 1 号")

    fun device(user: String): XunchaClient {
        val c = XunchaClient.open(tempDir("xuncha-kt-$user"))
        c.signIn(server.url, user, "demo", "Kotlin $user")
        c.sync(null, null)
        return c
    }

    TestKit.test("an inspector reports offline with a photo, then syncs") {
        val inspector = device("inspector1")
        val photo = File.createTempFile("before", ".jpg").apply { writeBytes(jpegBytes(1, 50_000)) }
        val id = inspector.report(
            NewCase(
                category = "0101", description = "路边垃圾堆", place = here, siteId = null,
                campaignId = null, undercover = false,
                photos = listOf(NewPhoto(path = photo.path, bytes = null, capturedAtMs = System.currentTimeMillis(), place = here)),
            ),
        )
        checkEq(1uL, inspector.pendingCount(), "pending after an offline report")
        val detail = inspector.caseDetail(id)
        checkEq(Status.SUBMITTED, detail.case.status, "status")
        checkEq("待审核", statusLabel(detail.case.status, Lang.ZH_CN), "core's label")
        checkEq("Submitted", statusLabel(detail.case.status, Lang.EN), "in English")
        checkEq(PhotoKind.BEFORE, detail.photos.single().kind, "photo kind")
        check(File(detail.photos.single().localPath!!).exists()) { "photo stored on the device" }
        val phases = mutableListOf<SyncPhase>()
        val summary = inspector.sync(object : SyncListener {
            override fun onProgress(phase: SyncPhase, done: ULong, total: ULong) {
                phases += phase
            }
        }, null)
        checkEq(1uL, summary.accepted, "accepted")
        checkEq(1uL, summary.photosUploaded, "photos uploaded")
        checkEq(0uL, inspector.pendingCount(), "pending after sync")
        check(phases.containsAll(listOf(SyncPhase.PUSH, SyncPhase.PHOTOS, SyncPhase.PULL, SyncPhase.DONE))) { "progress phases: $phases" }
        check(inspector.caseDetail(id).case.receivedAtMs != null) { "server receipt time kept" }
    }

    TestKit.test("a unit pulls, acknowledges, rectifies with an after-photo; a racing phone's op is rejected") {
        val inspector = device("inspector2")
        val id = inspector.report(
            NewCase("0503", "占道经营", here, null, null, false, listOf(NewPhoto(null, jpegBytes(2, 20_000), null, null))),
        )
        inspector.sync(null, null)
        val office = device("supervisor1")
        val allowed = office.allowedActions(id).associate { it.action to it.inputs }
        check(Action.REGISTER in allowed && Action.REJECT in allowed && Action.DISPATCH !in allowed) { "supervisor's actions on a new case: $allowed" }
        checkEq(listOf(Requirement.REASON), allowed[Action.REJECT], "a rejection asks for a reason")
        checkEq(listOf(Requirement.DUPLICATE_TARGET), allowed[Action.MARK_DUPLICATE], "a duplicate asks for the original")
        office.act(id, Action.REGISTER, ActionFields(), emptyList())
        office.act(id, Action.DISPATCH, ActionFields(text = "请尽快处理", unitId = "u1"), emptyList())
        office.sync(null, null)

        val unitA = device("unit1")
        val unitB = device("unit1")
        checkEq(Status.DISPATCHED, unitA.caseDetail(id).case.status, "the unit received the case")
        unitA.act(id, Action.ACKNOWLEDGE, ActionFields(text = "收到"), emptyList())
        unitA.act(id, Action.RECTIFY, ActionFields(text = "已清理"), listOf(NewPhoto(null, jpegBytes(3, 30_000), System.currentTimeMillis(), here)))
        unitB.act(id, Action.ACKNOWLEDGE, ActionFields(text = "我也收到"), emptyList())
        checkEq(2uL, unitA.sync(null, null).accepted, "unit A's ops accepted")
        val b = unitB.sync(null, null)
        checkEq(1uL, b.rejected, "unit B's acknowledgement lost the race")
        val rejection = unitB.rejections().single()
        checkEq(Action.ACKNOWLEDGE, rejection.action, "rejected action")
        check(rejection.reason.isNotBlank()) { "a reason for a person" }
        checkEq(Status.RECTIFIED, unitB.caseDetail(id).case.status, "unit B shows the server's truth")

        office.sync(null, null)
        val d = office.caseDetail(id)
        checkEq(Status.RECTIFIED, d.case.status, "office sees the rectification")
        val after = d.photos.single { it.kind == PhotoKind.AFTER }
        val path = office.downloadPhoto(after.sha256)
        checkEq(30_000L, File(path).length(), "after-photo downloaded")
    }

    TestKit.test("errors arrive as XunchaException with the core's stable code") {
        val inspector = device("inspector1")
        val notAllowed = expectThrows<XunchaException.Invalid>("dispatch by an inspector") {
            val id = inspector.report(NewCase("0101", "x", here, null, null, false, emptyList()))
            inspector.act(id, Action.DISPATCH, ActionFields(unitId = "u1"), emptyList())
        }
        checkEq("illegal_transition", notAllowed.code, "code")
        check(notAllowed.detail.isNotBlank() && notAllowed.detailEn.isNotBlank()) { "zh and en messages" }
        val badId = expectThrows<XunchaException.Invalid>("a bad id") { inspector.caseDetail("not-a-uuid") }
        checkEq("invalid_field", badId.code, "code")
        val unknown = expectThrows<XunchaException.Invalid>("an unknown category") {
            inspector.report(NewCase("9999", "x", here, null, null, false, emptyList()))
        }
        checkEq("unknown_category", unknown.code, "code")
        val fresh = XunchaClient.open(tempDir("xuncha-kt-fresh"))
        val wrong = expectThrows<XunchaException.Server>("a wrong password") {
            fresh.signIn(server.url, "inspector1", "wrong", "phone")
        }
        checkEq(401.toUShort(), wrong.status, "status")
        checkEq("wrong_credentials", wrong.serverCode, "server code")
        check("用户名或密码错误" in wrong.detail && "wrong user name or password" in wrong.detailEn) { "messages: ${wrong.detail} / ${wrong.detailEn}" }
        val offline = expectThrows<XunchaException.Auth>("sync before signing in") { fresh.sync(null, null) }
        checkEq("not_configured", offline.code, "a device that never signed in is asked to")
        val cancel = CancelToken()
        cancel.cancel()
        expectThrows<XunchaException.Cancelled>("a cancelled sync") { inspector.sync(null, cancel) }
    }

    TestKit.test("reference data and map coordinates") {
        val inspector = device("inspector1")
        val groups = inspector.categoryTree()
        check(groups.sumOf { it.categories.size } >= 25) { "categories: ${groups.size} groups" }
        check(inspector.units().size == 9) { "units" }
        val sites = inspector.sitesNear(30.2552, 120.1552, 2_000.0, 5u)
        check(sites.zipWithNext().all { (a, b) -> a.distanceM <= b.distanceM }) { "nearest first" }
        val g = wgs84ToGcj02(GeoPoint(30.2552, 120.1552))
        check(g.lat != 30.2552 && Math.abs(g.lat - 30.2552) < 0.01) { "GCJ-02 shift: $g" }
        val back = gcj02ToWgs84(g)
        check(Math.abs(back.lat - 30.2552) < 1e-5 && Math.abs(back.lon - 120.1552) < 1e-5) { "round trip: $back" }
    }

    val failed = try {
        TestKit.runAll()
    } finally {
        server.close()
    }
    exitProcess(if (failed == 0) 0 else 1)
}

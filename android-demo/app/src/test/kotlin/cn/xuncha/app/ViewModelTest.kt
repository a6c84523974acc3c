package cn.xuncha.app

import cn.xuncha.app.core.*
import cn.xuncha.ffi.Action
import cn.xuncha.ffi.Lang
import cn.xuncha.ffi.NewPhoto
import cn.xuncha.ffi.PhotoKind
import cn.xuncha.ffi.Requirement
import cn.xuncha.ffi.Status
import cn.xuncha.ffi.SyncPhase
import cn.xuncha.ffi.XunchaClient
import cn.xuncha.ffi.statusLabel
import cn.xuncha.ffi.syncPhaseLabel
import java.io.File
import kotlin.system.exitProcess

/**
 * The app's behaviour, without Android: the view models over the real library and a real
 * server, as the screens drive them (an inspector reports offline and pulls to refresh; the unit
 * acknowledges and rectifies from the case screen; a refusal lands in the inbox; a wrong action
 * shows a message and changes nothing).
 */
fun main() {
    val server = DemoServer()
    val lang = Lang.ZH_CN

    fun phone(user: String): Pair<XunchaClient, SyncController> {
        val client = XunchaClient.open(tempDir("xuncha-vm-$user"))
        val session = SessionViewModel(client, lang)
        check(session.signIn(server.url, user, "demo", "VM $user")) { "sign in: ${session.state.value.problem}" }
        val sync = SyncController(client, Dispatch.Immediate, lang)
        sync.syncNow()
        return client to sync
    }

    TestKit.test("report screen: refuses an incomplete report, saves a complete one offline") {
        val (client, sync) = phone("inspector1")
        val report = ReportViewModel(client, sync, lang)
        check(report.state.value.categories.isNotEmpty()) { "category picker filled" }
        check(!report.submit()) { "nothing chosen yet" }
        checkEq("missing_category", report.state.value.problem?.code, "first thing missing")
        report.chooseCategory("0101")
        report.describe("桥下垃圾堆积")
        checkEq("6/2000", report.state.value.descriptionCount, "the count the core's limit gives")
        report.describe("垃".repeat(2_100))
        checkEq("2000/2000", report.state.value.descriptionCount, "typing stops at the limit")
        checkEq(2_000, report.state.value.description.length, "kept up to the limit")
        report.describe("桥下垃圾堆积")
        report.located(30.2552, 120.1552, 8.0, "演示路 1 号")
        check(!report.submit()) { "no photo yet" }
        checkEq("missing_photo", report.state.value.problem?.code, "then the photo")
        val photo = File.createTempFile("cam", ".jpg").apply { writeBytes(jpegBytes(9, 40_000)) }
        report.addPhoto(photo.path, System.currentTimeMillis())
        check(report.submit()) { "saved: ${report.state.value.problem}" }
        val id = report.state.value.savedCaseId!!
        checkEq(1L, sync.state.value.pending, "sync bar shows one waiting")
        check("1 条记录待上传" in sync.state.value.label(lang)) { sync.state.value.label(lang) }

        val list = CaseListViewModel(client, sync, Dispatch.Immediate, lang)
        list.selectTab(CaseTab.TODO)
        checkEq(listOf(id), list.state.value.rows.map { it.id }, "the new case is in 待处理")
        checkEq("待审核", list.state.value.rows.single().status, "status label")
        list.refresh()
        checkEq(0L, sync.state.value.pending, "pull-to-refresh sent it")
        checkEq(1uL, sync.state.value.lastSummary?.accepted, "accepted")
        checkEq(SyncPhase.DONE, sync.state.value.phase, "last phase")
        checkEq("同步完成", syncPhaseLabel(SyncPhase.DONE, lang), "the core's words for it")
    }

    TestKit.test("case screen: the unit acknowledges and rectifies; a racing phone's refusal is in its inbox") {
        val (inspector, inspectorSync) = phone("inspector2")
        val report = ReportViewModel(inspector, inspectorSync, lang)
        report.chooseCategory("0503")
        report.located(30.2600, 120.1600, 5.0, "夜市口")
        report.addPhoto(File.createTempFile("cam", ".jpg").apply { writeBytes(jpegBytes(10, 20_000)) }.path, 0)
        check(report.submit()) { "report" }
        val id = report.state.value.savedCaseId!!
        inspectorSync.syncNow()

        val (office, officeSync) = phone("supervisor1")
        val officeCase = CaseDetailViewModel(office, officeSync, lang, id)
        officeCase.load()
        check(officeCase.choice(Action.REGISTER) != null) { "register offered" }
        check(officeCase.perform(Action.REGISTER))
        val dispatch = officeCase.choice(Action.DISPATCH)!!
        check(dispatch.asksUnit && dispatch.asksDeadline) { "dispatch asks for a unit and a deadline" }
        checkEq(listOf("指定责任单位", "处置时限"), dispatch.fieldLabels, "the core's words for the fields")
        checkEq(9, officeCase.dispatchUnits().size, "the city office may dispatch to every unit")
        // 西湖区's supervisor is offered its district's units and the city-wide ones, not 上城区's.
        val (district, districtSync) = phone("supervisor2")
        val districtCase = CaseDetailViewModel(district, districtSync, lang, id)
        val offered = districtCase.dispatchUnits().map { it.id }
        check("u1" in offered && "u5" in offered && "u9" !in offered) { "district picker: $offered" }
        check(officeCase.perform(Action.DISPATCH, ActionForm("请今日处理", unitId = "u1")))
        officeSync.syncNow()

        val (unitA, syncA) = phone("unit1")
        val (unitB, syncB) = phone("unit1")
        val a = CaseDetailViewModel(unitA, syncA, lang, id)
        a.load()
        checkEq("已派遣", statusLabel(a.state.value.case!!.status, lang), "status on the unit's phone")
        check(a.perform(Action.ACKNOWLEDGE))
        val rectify = a.choice(Action.RECTIFY)!!
        check(rectify.asksPhoto) { "rectify asks for an after-photo" }
        checkEq(PhotoKind.AFTER, rectify.photoKind, "the camera is for the after-photo")
        check(!a.perform(Action.RECTIFY, ActionForm("已整改"))) { "no after-photo: refused by the library" }
        checkEq("requirement_missing", a.state.value.problem?.code, "the library's code")
        val after = File.createTempFile("after", ".jpg").apply { writeBytes(jpegBytes(11, 30_000)) }
        check(a.perform(Action.RECTIFY, ActionForm("已清理完毕", photos = listOf(NewPhoto(after.path, null, null, null)))))
        checkEq(1, a.state.value.after.size, "after-photo beside the before-photo")
        checkEq(1, a.state.value.before.size, "before-photo")
        syncA.syncNow()

        val b = CaseDetailViewModel(unitB, syncB, lang, id)
        b.load()
        check(b.perform(Action.ACKNOWLEDGE, ActionForm("我也签收")))
        val log = DeviceLog(capacity = 50).apply { install(cn.xuncha.ffi.LogLevel.INFO) }
        syncB.syncNow()
        log.uninstall()
        checkEq(1uL, syncB.state.value.lastSummary?.rejected, "the race is lost")
        val refused = log.state.value.filter { it.level == cn.xuncha.ffi.LogLevel.WARN && "refused" in it.message }
        checkEq(1, refused.size, "the refusal is in the device's log: ${log.state.value}")
        check(id in refused.single().message && "illegal_transition" in refused.single().message) { "${refused.single()}" }
        check(log.state.value.any { it.message.startsWith("synced:") }) { "and the sync's summary: ${log.state.value}" }
        val inbox = InboxViewModel(unitB, lang)
        inbox.load()
        checkEq("签收", inbox.state.value.single().action, "inbox row")
        b.load()
        checkEq(Status.RECTIFIED, b.state.value.case?.status, "the loser sees the server's truth")
    }

    TestKit.test("forms follow the table: an extension asks for a date, an inspector's verification for a photo") {
        val (inspector, inspectorSync) = phone("inspector1")
        val report = ReportViewModel(inspector, inspectorSync, lang)
        report.chooseCategory("0101")
        report.located(30.2610, 120.1610, 5.0, "菜场北门")
        report.addPhoto(File.createTempFile("cam", ".jpg").apply { writeBytes(jpegBytes(12, 20_000)) }.path, 0)
        check(report.submit()) { "report" }
        val id = report.state.value.savedCaseId!!
        inspectorSync.syncNow()
        val (office, officeSync) = phone("supervisor1")
        val o = CaseDetailViewModel(office, officeSync, lang, id)
        o.load()
        check(o.perform(Action.REGISTER))
        check(o.perform(Action.DISPATCH, ActionForm(unitId = "u1")))
        officeSync.syncNow()

        val (unit, unitSync) = phone("unit1")
        val u = CaseDetailViewModel(unit, unitSync, lang, id)
        u.load()
        val ext = u.choice(Action.REQUEST_EXTENSION)!!
        check(ext.asksNewDeadline && ext.asksReason) { "the extension form asks for a new deadline and a reason: ${ext.offer}" }
        check(!ext.asksPhoto && !ext.asksUnit) { "and for nothing else" }
        check(!u.perform(Action.REQUEST_EXTENSION, ActionForm("需协调城管"))) { "no date: refused" }
        checkEq("requirement_missing", u.state.value.problem?.code, "the library's code")
        val deadline = u.state.value.case!!.deadlineMs!!
        val until = deadline + 5 * 86_400_000L
        check(u.perform(Action.REQUEST_EXTENSION, ActionForm("需协调城管", untilMs = until))) { "${u.state.value.problem}" }
        checkEq(until, u.state.value.case?.pendingExtensionUntilMs, "the date the person chose, not a fixed +3 days")
        check(u.choice(Action.REQUEST_EXTENSION) == null) { "one pending request at a time" }
        check(u.perform(Action.ACKNOWLEDGE))
        val after = File.createTempFile("after", ".jpg").apply { writeBytes(jpegBytes(13, 20_000)) }
        check(u.perform(Action.RECTIFY, ActionForm("已清理", photos = listOf(NewPhoto(after.path, null, null, null)))))
        unitSync.syncNow()

        inspectorSync.syncNow()
        val i = CaseDetailViewModel(inspector, inspectorSync, lang, id)
        i.load()
        checkEq(Status.RECTIFIED, i.state.value.case?.status, "the inspector sees the rectification")
        val pass = i.choice(Action.VERIFY_PASS)!!
        check(pass.asks(Requirement.VERIFY_PHOTO)) { "the inspector's 核查通过 asks for an on-site photo: ${pass.offer}" }
        checkEq(PhotoKind.VERIFY, pass.photoKind, "the camera is for the on-site photo")
        check(!i.perform(Action.VERIFY_PASS, ActionForm("已复查"))) { "no photo: refused" }
        checkEq("requirement_missing", i.state.value.problem?.code, "the library's code")
        val onSite = File.createTempFile("verify", ".jpg").apply { writeBytes(jpegBytes(14, 20_000)) }
        check(i.perform(Action.VERIFY_PASS, ActionForm("已复查", photos = listOf(NewPhoto(onSite.path, null, null, null)))))
        checkEq(Status.CLOSED, i.state.value.case?.status, "closed on the inspector's phone")
        checkEq(1, i.state.value.after.count { it.kind == PhotoKind.VERIFY }, "the on-site photo beside the after-photo")
        inspectorSync.syncNow()
        checkEq(1uL, inspectorSync.state.value.lastSummary?.accepted, "the server accepted the verification")
    }

    TestKit.test("notices: a dispatch reaches the unit's phone, the sync bar counts it, opening one marks it read") {
        val (inspector, inspectorSync) = phone("inspector1")
        val report = ReportViewModel(inspector, inspectorSync, lang)
        report.chooseCategory("0105")
        report.located(30.2552, 120.1652, 5.0, "东城路口")
        report.addPhoto(File.createTempFile("cam", ".jpg").apply { writeBytes(jpegBytes(21, 20_000)) }.path, 0)
        check(report.submit()) { "report" }
        val id = report.state.value.savedCaseId!!
        inspectorSync.syncNow()
        val (office, officeSync) = phone("supervisor1")
        val officeCase = CaseDetailViewModel(office, officeSync, lang, id)
        officeCase.load()
        check(officeCase.perform(Action.REGISTER))
        check(officeCase.perform(Action.DISPATCH, ActionForm("请今日处理", unitId = "u2")))
        officeSync.syncNow()

        val (unit, unitSync) = phone("unit2")
        // The server raises notices from its change feed within seconds.
        var tries = 0
        while (unit.notices(200u).none { it.caseId == id } && tries++ < 50) {
            Thread.sleep(200)
            unitSync.syncNow()
        }
        val notices = NoticesViewModel(unit, unitSync)
        notices.load()
        val row = notices.state.value.first { it.caseId == id }
        checkEq("新派遣", row.title, "the notice's title")
        check("责任单位：东城街道办事处" in row.text) { row.text }
        val unread = unitSync.state.value.unread
        check(unread >= 1) { "unread on the sync bar: $unread" }
        check("$unread 条未读通知" in unitSync.state.value.label(lang)) { unitSync.state.value.label(lang) }
        checkEq(id, notices.open(row.id), "opening a notice shows its case")
        checkEq(unread - 1, unitSync.state.value.unread, "one fewer unread")
        unitSync.syncNow()
        val (second, _) = phone("unit2")
        check(second.notices(200u).first { it.id == row.id }.read) { "read on the server: the other phone sees it read" }
    }

    TestKit.test("a wrong password and a revoked session show a message, not a crash") {
        val client = XunchaClient.open(tempDir("xuncha-vm-wrong"))
        val session = SessionViewModel(client, lang)
        check(!session.signIn(server.url, "unit2", "nope", "phone")) { "wrong password refused" }
        val p = session.state.value.problem!!
        checkEq("wrong_credentials", p.code, "code")
        check("用户名或密码错误" in p.message) { p.message }
        val en = SessionViewModel(client, Lang.EN)
        en.signIn(server.url, "unit2", "nope", "phone")
        check("wrong user name or password" in en.state.value.problem!!.message) { en.state.value.problem!!.message }
        check(!session.signIn("ftp://example", "unit2", "demo", "phone")) { "bad address refused" }
        checkEq("invalid_field", session.state.value.problem?.code, "code")
    }

    val failed = try {
        TestKit.runAll()
    } finally {
        server.close()
    }
    exitProcess(if (failed == 0) 0 else 1)
}

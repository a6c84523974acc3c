package cn.xuncha.app

import cn.xuncha.app.core.*
import cn.xuncha.ffi.XunchaClient
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
    val lang = Lang.ZH

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
        checkEq("同步完成", Labels.phase(sync.state.value.phase ?: "", lang), "last phase")
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
        check(officeCase.state.value.actions.any { it.name == "register" }) { "register offered" }
        check(officeCase.perform("register"))
        val dispatch = officeCase.state.value.actions.single { it.name == "dispatch" }
        check(dispatch.needsUnit) { "dispatch asks for a unit" }
        check(officeCase.perform("dispatch", "请今日处理", unitId = "u1"))
        officeSync.syncNow()

        val (unitA, syncA) = phone("unit1")
        val (unitB, syncB) = phone("unit1")
        val a = CaseDetailViewModel(unitA, syncA, lang, id)
        a.load()
        checkEq("已派遣", Labels.status(a.state.value.case!!.status, lang), "status on the unit's phone")
        check(a.perform("acknowledge"))
        val rectify = a.state.value.actions.single { it.name == "rectify" }
        check(rectify.needsPhoto) { "rectify asks for an after-photo" }
        check(!a.perform("rectify", "已整改")) { "no after-photo: refused by the library" }
        checkEq("requirement_missing", a.state.value.problem?.code, "the library's code")
        val after = File.createTempFile("after", ".jpg").apply { writeBytes(jpegBytes(11, 30_000)) }
        check(a.perform("rectify", "已清理完毕", listOf(cn.xuncha.ffi.NewPhoto(after.path, null, null, null))))
        checkEq(1, a.state.value.after.size, "after-photo beside the before-photo")
        checkEq(1, a.state.value.before.size, "before-photo")
        syncA.syncNow()

        val b = CaseDetailViewModel(unitB, syncB, lang, id)
        b.load()
        check(b.perform("acknowledge", "我也签收"))
        syncB.syncNow()
        checkEq(1uL, syncB.state.value.lastSummary?.rejected, "the race is lost")
        val inbox = InboxViewModel(unitB, lang)
        inbox.load()
        checkEq("签收", inbox.state.value.single().action, "inbox row")
        b.load()
        checkEq("rectified", b.state.value.case?.status, "the loser sees the server's truth")
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

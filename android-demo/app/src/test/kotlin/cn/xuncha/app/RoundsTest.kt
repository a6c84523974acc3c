package cn.xuncha.app

import cn.xuncha.app.core.*
import cn.xuncha.ffi.Finding
import cn.xuncha.ffi.Lang
import cn.xuncha.ffi.RecheckOutcome
import cn.xuncha.ffi.ScoringRule
import cn.xuncha.ffi.XunchaClient
import java.io.File
import kotlin.system.exitProcess

/**
 * Inspection rounds on the phone, without Android: the view models over the real library and a
 * real demo server with its rounds. inspector1's sites come with the sync, nearest first; the
 * checklist asks for each indicator as its rule says, scores as the library does, refuses a
 * deduction without a photo, and saves offline; the sync sends it and brings back the cases it
 * raised; the 回头看 task takes a photo and an outcome.
 */
fun main() {
    val server = DemoServer(withSamples = true)
    val lang = Lang.ZH_CN

    TestKit.test("my sites today: the rounds' tasks, open first, nearest first") {
        val client = XunchaClient.open(tempDir("xuncha-rounds-list"))
        val session = SessionViewModel(client, lang)
        check(session.signIn(server.url, "inspector1", "demo", "rounds phone")) { "${session.state.value.problem}" }
        val sync = SyncController(client, Dispatch.Immediate, lang)
        sync.syncNow()
        check((sync.state.value.lastSummary?.openTasks ?: 0uL) >= 2uL) { "tasks came with the sync: ${sync.state.value.lastSummary}" }
        val tasks = TasksViewModel(client, lang)
        tasks.load()
        val rows = tasks.state.value
        check(rows.any { it.kind == "暗访" && it.open }) { "an open undercover site: $rows" }
        check(rows.any { it.isRecheck && it.open }) { "an open re-check: $rows" }
        val firstDone = rows.indexOfFirst { !it.open }
        check(firstDone == -1 || rows.drop(firstDone).none { it.open }) { "open ones first: $rows" }
        val site = rows.first { !it.isRecheck && it.open }
        val place = client.tasks(null).first { it.taskId == site.taskId }
        tasks.located(place.lat!! + 0.0009, place.lon!!, 10.0)
        val near = tasks.state.value.first { it.taskId == site.taskId }
        check(near.distance in setOf("99 m", "100 m", "101 m")) { "distance from here: ${near.distance}" }
    }

    TestKit.test("checklist: every indicator as its rule asks, scored, a photo per deduction, saved offline, raised on sync") {
        val client = XunchaClient.open(tempDir("xuncha-rounds-check"))
        val session = SessionViewModel(client, lang)
        check(session.signIn(server.url, "inspector1", "demo", "checklist phone")) { "${session.state.value.problem}" }
        val sync = SyncController(client, Dispatch.Immediate, lang)
        sync.syncNow()
        val task = client.tasks(null).first { it.state == cn.xuncha.ffi.TaskState.OPEN && it.caseId == null }
        val form = ChecklistViewModel(client, sync, lang, task.taskId)
        form.load()
        val lines = form.state.value.lines
        checkEq(listOf("2.1", "2.2", "2.3", "2.4", "2.5", "2.6"), lines.map { it.indicator.code }, "the back street's checklist")
        checkEq("发现问题几处（每处扣 1.0 分）", form.prompt(lines[0].indicator), "asked as its rule says")
        check(lines.all { it.indicator.rule is ScoringRule.PerOccurrence }) { "back streets count problems" }
        checkEq("得分 0/17（0.0%）", form.state.value.score, "nothing recorded yet")
        check(!form.submit("")) { "nothing recorded" }
        checkEq("indicator_unrecorded", form.state.value.problem?.code, "the first missing")
        for (l in lines) form.record(l.indicator.code, Finding.Occurrences(0u))
        checkEq("得分 17/17（100.0%）", form.state.value.score, "all met")
        form.record("2.3", Finding.Occurrences(2u))
        checkEq("得分 16/17（94.1%）", form.state.value.score, "two small ads: −0.5 each")
        check(!form.submit("")) { "a deduction without a photo" }
        checkEq("deduction_needs_photo", form.state.value.problem?.code, "the library's own refusal")
        val photo = File.createTempFile("cam", ".jpg").apply { writeBytes(jpegBytes(31, 30_000)) }
        form.addPhoto("2.3", photo.path, System.currentTimeMillis())
        check(form.submit("小广告两处")) { "saved: ${form.state.value.problem}" }
        checkEq(1L, sync.state.value.pending, "waiting to send")
        check(TasksViewModel(client, lang).also { it.load() }.state.value.first { it.taskId == task.taskId }.waitingToSend) { "shown as sent from here" }
        sync.syncNow()
        checkEq(1uL, sync.state.value.lastSummary?.accepted, "accepted")
        checkEq(1uL, sync.state.value.lastSummary?.photosUploaded, "its photo sent")
        checkEq(0L, sync.state.value.pending, "nothing waits")
    }

    TestKit.test("回头看: a photo and an outcome, refused without the photo") {
        val client = XunchaClient.open(tempDir("xuncha-rounds-recheck"))
        val session = SessionViewModel(client, lang)
        check(session.signIn(server.url, "inspector1", "demo", "recheck phone")) { "${session.state.value.problem}" }
        val sync = SyncController(client, Dispatch.Immediate, lang)
        sync.syncNow()
        val task = client.tasks(null).first { it.state == cn.xuncha.ffi.TaskState.OPEN && it.caseId != null }
        check(task.caseDescription?.isNotEmpty() == true) { "the case to re-check came with it" }
        val form = RecheckViewModel(client, sync, lang, task.taskId)
        checkEq(listOf("整改到位", "复发"), form.outcomes.map { it.second }, "the two answers, in the library's words")
        check(!form.submit(RecheckOutcome.RECURRED, "")) { "no photo yet" }
        checkEq("recheck_needs_photo", form.state.value.problem?.code, "refused")
        form.addPhoto(File.createTempFile("cam", ".jpg").apply { writeBytes(jpegBytes(32, 20_000)) }.path, System.currentTimeMillis())
        check(form.submit(RecheckOutcome.RECURRED, "垃圾又堆起来了")) { "saved: ${form.state.value.problem}" }
        sync.syncNow()
        checkEq(1uL, sync.state.value.lastSummary?.accepted, "accepted")
    }

    val failed = try {
        TestKit.runAll()
    } finally {
        server.close()
    }
    exitProcess(if (failed == 0) 0 else 1)
}

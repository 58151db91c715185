package org.pushd.mobile

import java.io.File
import java.nio.file.Files
import java.util.Base64
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.pushd.ffi.DecryptedMessage
import org.pushd.ffi.PushException

/** The Kotlin SDK on the JVM against the real pushd; `pushctl send` plays the site backend. */
class PushClientTest {
    private lateinit var folder: File
    private lateinit var pushd: Process
    private lateinit var url: String
    private lateinit var client: PushClient
    private lateinit var vapid: File

    @BeforeEach
    fun start() {
        folder = Files.createTempDirectory("push-kotlin").toFile()
        pushd = ProcessBuilder(
            System.getProperty("pushd.bin"), "--listen", "127.0.0.1:0",
            "--metrics-listen", "off", "--data-dir", File(folder, "pushd-data").path,
        ).redirectErrorStream(true).start()
        val lines = pushd.inputStream.bufferedReader()
        url = "http://" + lines.lineSequence()
            .first { it.contains("grpc_addr=") }
            .substringAfter("grpc_addr=").substringBefore(' ')
        // Keep draining pushd's output so it never blocks.
        Thread { lines.forEachLine { } }.apply { isDaemon = true }.start()
        client = PushClient(url, File(folder, "keys.db").path)
        vapid = File(folder, "vapid.pem")
        pushctl("keygen", "--out", vapid.path)
    }

    @AfterEach
    fun stop() {
        client.close()
        pushd.destroyForcibly().waitFor()
    }

    private fun pushctl(vararg args: String): String {
        val process = ProcessBuilder(System.getProperty("pushctl.bin"), *args).start()
        val output = process.inputStream.bufferedReader().readText()
        val errors = process.errorStream.bufferedReader().readText()
        assertEquals(0, process.waitFor(), "pushctl ${args.first()}: $errors")
        return output
    }

    private fun send(json: String, text: String): String {
        val subscription = File(folder, "sub.json").apply { writeText(json) }
        return pushctl(
            "send", "--server", url, "--key", vapid.path, "--subject", "mailto:ops@example.com",
            "--subscription", "@${subscription.path}", text,
        )
    }

    @Test
    fun subscribeSendFetchAndListen() {
        val scope = "https://news.example"
        val info = client.subscribe(scope)
        assertTrue(info.endpoint.startsWith("$url/push/"))
        assertEquals(info.endpoint, client.subscribe(scope).endpoint, "one subscription per scope")
        assertEquals(info, client.subscription(scope))
        assertNull(client.subscription("https://other.example"))

        assertTrue(send(info.json, "while away").contains("stored"))
        val pending = client.fetchPending()
        assertEquals(listOf(scope to "while away"), pending.map { it.scope to String(it.payload) })
        assertTrue(client.fetchPending().isEmpty(), "fetched once, acked")

        val received = LinkedBlockingQueue<DecryptedMessage>()
        val stopped = LinkedBlockingQueue<String>()
        val listening = client.listen(onStopped = { stopped.put(it) }) { received.put(it) }
        send(info.json, "live")
        val message = received.poll(10, TimeUnit.SECONDS) ?: error("no live message")
        assertEquals(scope to "live", message.scope to String(message.payload))
        listening.close()
        assertEquals("stopped", stopped.poll(10, TimeUnit.SECONDS))

        assertTrue(client.unsubscribe(scope))
        assertFalse(client.unsubscribe(scope))
        assertTrue(client.verify().isEmpty())
    }

    @Test
    fun aNewSenderKeyReplacesTheSubscription() {
        val first = client.subscribe("chat")
        val printed = pushctl("keygen", "--out", File(folder, "other.pem").path).trim()
        val key = Base64.getUrlDecoder().decode(printed)
        val pinned = client.subscribe("chat", key)
        assertNotEquals(first.endpoint, pinned.endpoint)
    }

    @Test
    fun twoDevicesOfOneUserShareAnAccountSubscription() {
        val scope = "https://mail.example"
        val laptop = PushClient(url, File(folder, "laptop.db").path)
        val tablet = PushClient(url, File(folder, "tablet.db").path)
        try {
            val account = client.createAccount("Phone")
            laptop.joinAccount(account, "Laptop")
            tablet.joinAccount(account, "Tablet")
            assertFalse(laptop.syncAccountKeys().approved)
            assertThrows<PushException.Unauthorized> { laptop.accountDevices() } // pending
            val waiting = client.accountDevices().single { it.fingerprint == laptop.fingerprint }
            assertEquals(laptop.deviceId, waiting.deviceId)
            assertTrue(client.approveDevice(waiting.deviceId).approved)

            val info = client.subscribeForAccount(scope)
            send(info.json, "to every device")
            // The laptop has no keys yet: fetching opens the sealed ones first.
            assertEquals(listOf(scope to "to every device"), laptop.fetchPending().map { it.scope to String(it.payload) })
            assertEquals(listOf(scope to "to every device"), client.fetchPending().map { it.scope to String(it.payload) })
            assertTrue(tablet.fetchPending().isEmpty(), "the unapproved tablet gets nothing")
            assertNull(tablet.subscription(scope))

            client.removeDevice(laptop.deviceId)
            assertThrows<PushException.Unauthorized> { laptop.fetchPending() }
        } finally {
            laptop.close()
            tablet.close()
        }
    }

    @Test
    fun badInputThrowsTheExportedError() {
        assertThrows<PushException.InvalidInput> { client.subscribe("") }
        assertThrows<PushException.InvalidInput> { client.updateBridgeToken("token") }
        assertThrows<PushException> { client.open(mapOf("v" to "1")) }
        assertThrows<PushException.InvalidInput> { client.accountDevices() } // no account yet
    }
}

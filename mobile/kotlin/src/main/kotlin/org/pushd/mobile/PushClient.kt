package org.pushd.mobile

import java.io.Closeable
import org.pushd.ffi.AccountDevice
import org.pushd.ffi.AccountSync
import org.pushd.ffi.BridgeKind
import org.pushd.ffi.DecryptedMessage
import org.pushd.ffi.IdentityProvider
import org.pushd.ffi.ListenerHandle
import org.pushd.ffi.Presence
import org.pushd.ffi.PushListener
import org.pushd.ffi.PushManager
import org.pushd.ffi.SubscriptionInfo

/**
 * Push for one app install: subscriptions by scope, messages however they
 * arrive (stream, FCM/APNs bridge, fetch after a wake-up).
 *
 * Every call blocks: call from a background thread or `Dispatchers.IO`.
 * Errors are [org.pushd.ffi.PushException] subclasses (InvalidInput,
 * Network, Unauthorized, Server, Storage, Crypto).
 */
class PushClient(
    serverUrl: String,
    databasePath: String,
    bridge: BridgeKind = BridgeKind.None,
    /**
     * For a push service that signs devices in with the app's identity
     * provider: returns the signed-in user's current ID token.
     */
    idToken: (() -> String)? = null,
) : Closeable {
    private val manager = when (idToken) {
        null -> PushManager(serverUrl, databasePath, bridge)
        else -> PushManager.withIdentity(
            serverUrl,
            databasePath,
            bridge,
            object : IdentityProvider {
                override fun idToken(): String = idToken()
            },
        )
    }

    /** The subscription for [scope] (made if needed) to hand to the sender. */
    fun subscribe(scope: String, appServerKey: ByteArray? = null): SubscriptionInfo =
        manager.subscribe(scope, appServerKey)

    fun subscription(scope: String): SubscriptionInfo? = manager.getSubscription(scope)

    fun unsubscribe(scope: String): Boolean = manager.unsubscribe(scope)

    fun unsubscribeAll() = manager.unsubscribeAll()

    /** Call with each new FCM registration token or APNs device token. */
    fun updateBridgeToken(token: String) = manager.updateBridgeToken(token)

    /** Scopes whose subscription the server lost: subscribe them again. */
    fun verify(): List<String> = manager.verifyConnection()

    /** Opens an FCM data map / APNs `push` dictionary; null if already seen. */
    fun open(data: Map<String, String>): DecryptedMessage? = manager.decrypt(data)

    fun fetchPending(): List<DecryptedMessage> = manager.fetchPending()

    /** This install's device id, as [accountDevices] lists it. */
    val deviceId: String get() = manager.deviceId()

    /** Starts an account for the user with this device; share the returned id (e.g. as a QR code). */
    fun createAccount(deviceName: String): String = manager.createAccount(deviceName)

    /** Asks to join the user's account; show [fingerprint] until another device approves. */
    fun joinAccount(accountId: String, deviceName: String) =
        manager.joinAccount(accountId, deviceName)

    /** Short digest of this device's key, for the user to compare while approving. */
    val fingerprint: String get() = manager.deviceFingerprint()

    fun accountDevices(): List<AccountDevice> = manager.accountDevices()

    /** Approves a waiting device and hands it the account's keys, sealed to it. */
    fun approveDevice(deviceId: String): AccountDevice = manager.approveDevice(deviceId)

    /** Removes a device (or this one) from the account; it stops receiving at once. */
    fun removeDevice(deviceId: String) = manager.removeDevice(deviceId)

    /** Like [subscribe], for every approved device of the user's account. */
    fun subscribeForAccount(scope: String, appServerKey: ByteArray? = null): SubscriptionInfo =
        manager.subscribeForAccount(scope, appServerKey)

    /** Fetches the keys other devices sealed to this one (also done when a message needs them). */
    fun syncAccountKeys(): AccountSync = manager.syncAccountKeys()

    /**
     * Listens until the returned handle is closed, calling [onMessage] on the
     * SDK's threads for each new message.
     */
    fun listen(
        presence: Presence = Presence.ACTIVE,
        onStopped: (String) -> Unit = {},
        onMessage: (DecryptedMessage) -> Unit,
    ): Listening {
        val listener = object : PushListener {
            override fun onMessage(message: DecryptedMessage) = onMessage(message)
            override fun onStopped(reason: String) = onStopped(reason)
        }
        return Listening(manager.listen(listener, presence))
    }

    override fun close() = manager.close()
}

/** A running listener: change presence, or close to stop. */
class Listening internal constructor(private val handle: ListenerHandle) : Closeable {
    fun setPresence(presence: Presence) = handle.setPresence(presence)

    override fun close() {
        handle.stop()
        handle.close()
    }
}

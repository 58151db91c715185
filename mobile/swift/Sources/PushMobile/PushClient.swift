import Foundation
import PushFFI

/// Push for one app install: subscriptions by scope, and messages however
/// they arrive (stream, APNs, fetch after a wake-up).
///
/// Every call blocks: call it off the main thread. Errors are `PushError`
/// cases (`.InvalidInput`, `.Network`, `.Unauthorized`, `.Server`,
/// `.Storage`, `.Crypto`), each with a `reason`.
public final class PushClient {
    private let manager: PushManager

    /// - Parameters:
    ///   - databasePath: a file in the app group container, so the
    ///     Notification Service Extension opens the same keys.
    public init(serverURL: URL, databasePath: String, bundleID: String, sandbox: Bool) throws {
        manager = try PushManager(
            serverUrl: serverURL.absoluteString,
            databasePath: databasePath,
            bridge: .apns(bundleId: bundleID, sandbox: sandbox)
        )
    }

    /// For a push service that signs devices in with the app's identity
    /// provider: `idToken` returns the signed-in user's current ID token.
    public init(
        serverURL: URL, databasePath: String, bundleID: String, sandbox: Bool,
        idToken: @escaping @Sendable () throws -> String
    ) throws {
        manager = try PushManager.withIdentity(
            serverUrl: serverURL.absoluteString,
            databasePath: databasePath,
            bridge: .apns(bundleId: bundleID, sandbox: sandbox),
            identity: TokenCallback(idToken)
        )
    }

    /// The subscription for `scope` (made if needed) to hand to the sender.
    public func subscribe(_ scope: String, appServerKey: Data? = nil) throws -> SubscriptionInfo {
        try manager.subscribe(scope: scope, appServerKey: appServerKey)
    }

    public func subscription(_ scope: String) throws -> SubscriptionInfo? {
        try manager.getSubscription(scope: scope)
    }

    @discardableResult
    public func unsubscribe(_ scope: String) throws -> Bool {
        try manager.unsubscribe(scope: scope)
    }

    /// Call from `application(_:didRegisterForRemoteNotificationsWithDeviceToken:)`.
    public func updateDeviceToken(_ token: Data) throws {
        let hex = token.map { String(format: "%02x", $0) }.joined()
        try manager.updateBridgeToken(token: hex)
    }

    /// Scopes whose subscription the server lost: subscribe them again.
    public func verify() throws -> [String] {
        try manager.verifyConnection()
    }

    /// Opens a notification's `push` dictionary (from `userInfo["push"]`);
    /// nil if it was already shown.
    public func open(userInfo: [AnyHashable: Any]) throws -> DecryptedMessage? {
        guard let push = userInfo["push"] as? [String: Any] else { return nil }
        var fields: [String: String] = [:]
        for (key, value) in push {
            if let text = value as? String { fields[key] = text }
        }
        return try manager.decrypt(fields: fields)
    }

    public func fetchPending() throws -> [DecryptedMessage] {
        try manager.fetchPending()
    }

    // MARK: One user, several devices

    /// This install's device id, as `accountDevices()` lists it.
    public var deviceID: String { manager.deviceId() }

    /// Starts an account with this device; show the id (e.g. as a QR code) to the next device.
    public func createAccount(deviceName: String) throws -> String {
        try manager.createAccount(deviceName: deviceName)
    }

    /// Asks to join; show `fingerprint()` until another device approves this one.
    public func joinAccount(_ accountID: String, deviceName: String) throws {
        try manager.joinAccount(accountId: accountID, deviceName: deviceName)
    }

    public func fingerprint() throws -> String {
        try manager.deviceFingerprint()
    }

    public func accountDevices() throws -> [AccountDevice] {
        try manager.accountDevices()
    }

    /// Approves a waiting device and hands it the account's keys, sealed to it.
    @discardableResult
    public func approveDevice(_ deviceID: String) throws -> AccountDevice {
        try manager.approveDevice(deviceId: deviceID)
    }

    public func removeDevice(_ deviceID: String) throws {
        try manager.removeDevice(deviceId: deviceID)
    }

    /// Like `subscribe`, for every approved device of the account.
    public func subscribeForAccount(_ scope: String, appServerKey: Data? = nil) throws -> SubscriptionInfo {
        try manager.subscribeForAccount(scope: scope, appServerKey: appServerKey)
    }

    public func syncAccountKeys() throws -> AccountSync {
        try manager.syncAccountKeys()
    }

    /// Listens (foreground) until the handle is stopped.
    public func listen(
        presence: Presence = .active,
        onMessage: @escaping @Sendable (DecryptedMessage) -> Void
    ) -> ListenerHandle {
        manager.listen(listener: Callback(onMessage), presence: presence)
    }
}

private final class TokenCallback: IdentityProvider, @unchecked Sendable {
    private let block: @Sendable () throws -> String

    init(_ block: @escaping @Sendable () throws -> String) {
        self.block = block
    }

    func idToken() throws -> String {
        do {
            return try block()
        } catch {
            throw PushError.Unauthorized(reason: "no identity token: \(error)")
        }
    }
}

private final class Callback: PushListener, @unchecked Sendable {
    private let onMessageBlock: @Sendable (DecryptedMessage) -> Void

    init(_ onMessage: @escaping @Sendable (DecryptedMessage) -> Void) {
        onMessageBlock = onMessage
    }

    func onMessage(message: DecryptedMessage) {
        onMessageBlock(message)
    }

    func onStopped(reason: String) {}
}

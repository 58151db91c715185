import PushMobile
import UserNotifications

/// A Notification Service Extension: APNs delivers pushd's notification with
/// `mutable-content: 1`, iOS runs this before showing it, and it replaces the
/// placeholder alert with the decrypted message. The keys come from the
/// app group's database, shared with the app.
///
/// The message format is the app's own; this example treats the decrypted
/// payload as UTF-8 text, first line the title, the rest the body.
final class NotificationService: UNNotificationServiceExtension {
    private static let appGroup = "group.org.example.pushapp"
    private static let server = URL(string: "https://push.example.com")!

    private var contentHandler: ((UNNotificationContent) -> Void)?
    private var content: UNMutableNotificationContent?

    override func didReceive(
        _ request: UNNotificationRequest,
        withContentHandler contentHandler: @escaping (UNNotificationContent) -> Void
    ) {
        self.contentHandler = contentHandler
        let content = (request.content.mutableCopy() as? UNMutableNotificationContent)
            ?? UNMutableNotificationContent()
        self.content = content
        do {
            let folder = FileManager.default
                .containerURL(forSecurityApplicationGroupIdentifier: Self.appGroup)!
            let client = try PushClient(
                serverURL: Self.server,
                databasePath: folder.appendingPathComponent("push.db").path,
                bundleID: "org.example.pushapp",
                sandbox: false
            )
            if let message = try client.open(userInfo: request.content.userInfo) {
                let text = String(decoding: message.payload, as: UTF8.self)
                let lines = text.split(separator: "\n", maxSplits: 1).map(String.init)
                content.title = lines.first ?? ""
                content.body = lines.count > 1 ? lines[1] : ""
                content.threadIdentifier = message.scope
            } else {
                // Already shown (it came on the stream too): show nothing new.
                content.title = ""
                content.body = ""
            }
        } catch {
            // Keep the placeholder alert rather than show nothing.
        }
        contentHandler(content)
    }

    override func serviceExtensionTimeWillExpire() {
        if let contentHandler, let content {
            contentHandler(content)
        }
    }
}

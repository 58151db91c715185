package pushd.interop;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.Security;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import nl.martijndwars.webpush.Encoding;
import nl.martijndwars.webpush.Notification;
import nl.martijndwars.webpush.PushService;
import nl.martijndwars.webpush.Urgency;
import org.apache.http.Header;
import org.apache.http.HttpEntity;
import org.apache.http.HttpResponse;
import org.apache.http.util.EntityUtils;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/**
 * Sends one RFC 8030 push with nl.martijndwars:web-push (aes128gcm + VAPID
 * done by the library). Same CLI and output as the other interop senders;
 * see ../selftest.py for the contract.
 *
 * <p>The library sends through Apache HttpAsyncClient built from system
 * properties, which takes the JVM's default SSLContext: for --ca that default
 * is replaced by one trusting the given PEM certificate(s).
 *
 * <p>web-push 5.1.1 computes the VAPID audience as scheme://host, dropping a
 * non-default port (http://127.0.0.1:8080/x gives aud http://127.0.0.1), so
 * a JWT for a push service on such a port names the wrong origin. {@link
 * OriginWithPort} keeps everything else of the library's Notification and
 * returns the RFC 6454 origin instead. Set WEBPUSH_JAVA_LIBRARY_AUD=1 to send
 * the library's own (portless) aud.
 */
public final class Send {
  private static final List<String> OPTIONS =
      Arrays.asList(
          "subscription", "vapid-public", "vapid-private", "subject", "payload",
          "ttl", "urgency", "topic", "ca", "payload-size");

  private Send() {}

  public static void main(String[] argv) {
    Map<String, String> a = parseArgs(argv);
    try {
      System.exit(run(a));
    } catch (Exception e) {
      System.err.println("webpush-java: " + e);
      System.exit(1);
    }
  }

  private static int run(Map<String, String> a) throws Exception {
    Security.addProvider(new BouncyCastleProvider());
    if (a.containsKey("ca")) {
      SSLContext.setDefault(trusting(Path.of(a.get("ca"))));
    }

    Object parsed = new Json(Files.readString(Path.of(a.get("subscription")))).parse();
    Map<?, ?> sub = asMap(parsed, "subscription");
    Map<?, ?> keys = asMap(sub.get("keys"), "subscription.keys");
    String endpoint = asString(sub.get("endpoint"), "endpoint");
    String p256dh = asString(keys.get("p256dh"), "keys.p256dh");
    String auth = asString(keys.get("auth"), "keys.auth");

    byte[] payload;
    if (a.containsKey("payload")) {
      payload = a.get("payload").getBytes(StandardCharsets.UTF_8);
    } else {
      payload = new byte[Integer.parseInt(a.get("payload-size"))];
      Arrays.fill(payload, (byte) 'x');
    }

    Notification.NotificationBuilder b =
        Notification.builder()
            .endpoint(endpoint)
            .userPublicKey(p256dh)
            .userAuth(auth)
            .payload(payload)
            .ttl(Integer.parseInt(a.getOrDefault("ttl", "60")));
    if (a.containsKey("urgency")) {
      b.urgency(urgency(a.get("urgency")));
    }
    if (a.containsKey("topic")) {
      b.topic(a.get("topic"));
    }
    Notification n = new OriginWithPort(b.build());

    PushService push = new PushService(a.get("vapid-public"), a.get("vapid-private"), a.get("subject"));
    HttpResponse resp;
    try {
      resp = push.send(n, Encoding.AES128GCM);
    } catch (ExecutionException e) {
      Throwable c = e.getCause() != null ? e.getCause() : e;
      System.err.println("webpush-java: no HTTP response: " + c);
      return 1;
    }

    HttpEntity entity = resp.getEntity();
    String body = entity == null ? "" : EntityUtils.toString(entity, StandardCharsets.UTF_8);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("status", resp.getStatusLine().getStatusCode());
    out.put("location", header(resp, "Location"));
    out.put("ttl", header(resp, "TTL"));
    out.put("retry_after", header(resp, "Retry-After"));
    out.put("body", body);
    System.out.println(Json.write(out));
    System.out.flush();
    return 0;
  }

  /** The library's Notification with the endpoint's real origin as VAPID aud. */
  static final class OriginWithPort extends Notification {
    OriginWithPort(Notification n) {
      super(n.getEndpoint(), n.getUserPublicKey(), n.getUserAuth(), n.getPayload(), n.getTTL(),
          n.getUrgency(), n.getTopic());
    }

    @Override
    public String getOrigin() throws java.net.MalformedURLException {
      if ("1".equals(System.getenv("WEBPUSH_JAVA_LIBRARY_AUD"))) {
        return super.getOrigin();
      }
      java.net.URL u = new java.net.URL(getEndpoint());
      String origin = u.getProtocol() + "://" + u.getHost();
      int port = u.getPort();
      return port == -1 || port == u.getDefaultPort() ? origin : origin + ":" + port;
    }
  }

  private static Urgency urgency(String s) {
    switch (s) {
      case "very-low":
        return Urgency.VERY_LOW;
      case "low":
        return Urgency.LOW;
      case "normal":
        return Urgency.NORMAL;
      case "high":
        return Urgency.HIGH;
      default:
        throw usage("--urgency must be very-low, low, normal or high");
    }
  }

  private static String header(HttpResponse resp, String name) {
    Header[] hs = resp.getHeaders(name); // case-insensitive
    if (hs.length == 0) {
      return null;
    }
    StringBuilder sb = new StringBuilder();
    for (Header h : hs) {
      if (sb.length() > 0) {
        sb.append(", ");
      }
      sb.append(h.getValue());
    }
    return sb.toString();
  }

  private static SSLContext trusting(Path pem) throws Exception {
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    int i = 0;
    try (InputStream in = new ByteArrayInputStream(Files.readAllBytes(pem))) {
      for (Certificate c : cf.generateCertificates(in)) {
        ks.setCertificateEntry("ca" + i++, c);
      }
    }
    if (i == 0) {
      throw usage("no certificate in " + pem);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  private static Map<String, String> parseArgs(String[] argv) {
    Map<String, String> out = new HashMap<>();
    for (int i = 0; i < argv.length; i++) {
      String k = argv[i];
      if (!k.startsWith("--")) {
        throw usage("unexpected argument " + k);
      }
      k = k.substring(2);
      String v;
      int eq = k.indexOf('=');
      if (eq >= 0) {
        v = k.substring(eq + 1);
        k = k.substring(0, eq);
      } else {
        if (i + 1 >= argv.length) {
          throw usage("--" + k + " needs a value");
        }
        v = argv[++i];
      }
      if (!OPTIONS.contains(k)) {
        throw usage("unknown option --" + k);
      }
      out.put(k, v);
    }
    for (String k : List.of("subscription", "vapid-public", "vapid-private", "subject")) {
      if (!out.containsKey(k)) {
        throw usage("--" + k + " is required");
      }
    }
    if (out.containsKey("payload") == out.containsKey("payload-size")) {
      throw usage("give exactly one of --payload and --payload-size");
    }
    return out;
  }

  private static RuntimeException usage(String msg) {
    System.err.println("webpush-java: " + msg);
    System.exit(2);
    return new IllegalStateException(msg);
  }

  private static Map<?, ?> asMap(Object o, String what) {
    if (!(o instanceof Map)) {
      throw usage(what + " is not a JSON object");
    }
    return (Map<?, ?>) o;
  }

  private static String asString(Object o, String what) {
    if (!(o instanceof String)) {
      throw usage(what + " is not a JSON string");
    }
    return (String) o;
  }

  /** Just enough JSON for the subscription file and the result line. */
  static final class Json {
    private final String s;
    private int i;

    Json(String s) {
      this.s = s;
    }

    Object parse() {
      Object v = value();
      ws();
      if (i != s.length()) {
        throw error("trailing data");
      }
      return v;
    }

    private Object value() {
      ws();
      if (i >= s.length()) {
        throw error("unexpected end");
      }
      char c = s.charAt(i);
      if (c == '{') {
        Map<String, Object> m = new LinkedHashMap<>();
        i++;
        ws();
        if (peek('}')) {
          i++;
          return m;
        }
        while (true) {
          ws();
          String k = string();
          ws();
          expect(':');
          m.put(k, value());
          ws();
          if (peek(',')) {
            i++;
            continue;
          }
          expect('}');
          return m;
        }
      }
      if (c == '[') {
        List<Object> l = new ArrayList<>();
        i++;
        ws();
        if (peek(']')) {
          i++;
          return l;
        }
        while (true) {
          l.add(value());
          ws();
          if (peek(',')) {
            i++;
            continue;
          }
          expect(']');
          return l;
        }
      }
      if (c == '"') {
        return string();
      }
      if (s.startsWith("true", i)) {
        i += 4;
        return Boolean.TRUE;
      }
      if (s.startsWith("false", i)) {
        i += 5;
        return Boolean.FALSE;
      }
      if (s.startsWith("null", i)) {
        i += 4;
        return null;
      }
      int start = i;
      while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
        i++;
      }
      if (start == i) {
        throw error("unexpected character");
      }
      return Double.parseDouble(s.substring(start, i));
    }

    private String string() {
      expect('"');
      StringBuilder sb = new StringBuilder();
      while (true) {
        if (i >= s.length()) {
          throw error("unterminated string");
        }
        char c = s.charAt(i++);
        if (c == '"') {
          return sb.toString();
        }
        if (c != '\\') {
          sb.append(c);
          continue;
        }
        char e = s.charAt(i++);
        switch (e) {
          case 'b':
            sb.append('\b');
            break;
          case 'f':
            sb.append('\f');
            break;
          case 'n':
            sb.append('\n');
            break;
          case 'r':
            sb.append('\r');
            break;
          case 't':
            sb.append('\t');
            break;
          case 'u':
            sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
            i += 4;
            break;
          default:
            sb.append(e);
        }
      }
    }

    private void ws() {
      while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
        i++;
      }
    }

    private boolean peek(char c) {
      return i < s.length() && s.charAt(i) == c;
    }

    private void expect(char c) {
      if (!peek(c)) {
        throw error("expected '" + c + "'");
      }
      i++;
    }

    private IllegalArgumentException error(String msg) {
      return new IllegalArgumentException("JSON: " + msg + " at offset " + i);
    }

    static String write(Map<String, Object> m) {
      StringBuilder sb = new StringBuilder("{");
      for (Map.Entry<String, Object> e : m.entrySet()) {
        if (sb.length() > 1) {
          sb.append(", ");
        }
        quote(sb, e.getKey());
        sb.append(": ");
        Object v = e.getValue();
        if (v == null) {
          sb.append("null");
        } else if (v instanceof Number) {
          sb.append(v);
        } else {
          quote(sb, v.toString());
        }
      }
      return sb.append('}').toString();
    }

    private static void quote(StringBuilder sb, String v) {
      sb.append('"');
      for (int k = 0; k < v.length(); k++) {
        char c = v.charAt(k);
        switch (c) {
          case '"':
            sb.append("\\\"");
            break;
          case '\\':
            sb.append("\\\\");
            break;
          case '\n':
            sb.append("\\n");
            break;
          case '\r':
            sb.append("\\r");
            break;
          case '\t':
            sb.append("\\t");
            break;
          default:
            if (c < 0x20 || c > 0x7e) { // ASCII-only output, whatever the locale
              sb.append(String.format("\\u%04x", (int) c));
            } else {
              sb.append(c);
            }
        }
      }
      sb.append('"');
    }
  }
}

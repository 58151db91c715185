// Command webpush-go sends one RFC 8030 push with
// github.com/SherClockHolmes/webpush-go (aes128gcm + VAPID done by the
// library). Same CLI and output as the other interop senders; see
// ../selftest.py for the contract.
//
// Two library quirks are handled here:
//   - webpush-go prefixes "mailto:" to any Subscriber that is not an https:
//     URL, so a "mailto:" subject is passed without that prefix to end up with
//     a single one in the JWT's sub claim.
//   - webpush-go pads every message to its record size (4096 by default), so
//     a plaintext longer than 3993 bytes does not fit; for those the record
//     size is raised just enough that the library can build the (oversized)
//     request, which lets tests see the server's 413.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
)

// Bytes of an aes128gcm header with a 65-byte key id (salt, rs, idlen, key).
const headerLen = 16 + 4 + 1 + 65

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "webpush-go: "+format+"\n", args...)
	os.Exit(code)
}

func headerOrNil(h http.Header, name string) *string {
	if vs := h.Values(name); len(vs) > 0 {
		v := strings.Join(vs, ", ")
		return &v
	}
	return nil
}

func main() {
	fs := flag.NewFlagSet("webpush-go", flag.ContinueOnError)
	subFile := fs.String("subscription", "", "subscription JSON file")
	vapidPub := fs.String("vapid-public", "", "VAPID public key (base64url, 65-byte point)")
	vapidPriv := fs.String("vapid-private", "", "VAPID private key (base64url, 32 bytes)")
	subject := fs.String("subject", "", "VAPID subject (mailto: or https:)")
	payload := fs.String("payload", "", "plaintext")
	payloadSize := fs.Int("payload-size", -1, "send N bytes of 'x' instead of --payload")
	ttl := fs.Int("ttl", 60, "TTL seconds")
	urgency := fs.String("urgency", "", "very-low|low|normal|high")
	topic := fs.String("topic", "", "Topic header")
	caFile := fs.String("ca", "", "PEM CA certificate to trust")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if fs.NArg() != 0 {
		fail(2, "unexpected arguments %v", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, k := range []string{"subscription", "vapid-public", "vapid-private", "subject"} {
		if !set[k] {
			fail(2, "--%s is required", k)
		}
	}
	if set["payload"] == set["payload-size"] {
		fail(2, "give exactly one of --payload and --payload-size")
	}
	switch *urgency {
	case "", "very-low", "low", "normal", "high":
	default:
		fail(2, "--urgency must be very-low, low, normal or high")
	}

	raw, err := os.ReadFile(*subFile)
	if err != nil {
		fail(2, "%v", err)
	}
	var sub webpush.Subscription
	if err := json.Unmarshal(raw, &sub); err != nil {
		fail(2, "subscription: %v", err)
	}

	msg := []byte(*payload)
	if set["payload-size"] {
		msg = []byte(strings.Repeat("x", *payloadSize))
	}

	// The library adds "mailto:" itself unless the subject is an https: URL.
	subscriber := strings.TrimPrefix(*subject, "mailto:")

	// Start from a clone of the default transport so HTTP/2 over TLS is
	// negotiated (ALPN) just as with a plain http.Client.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			fail(2, "%v", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			fail(2, "no certificate found in %s", *caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	opts := &webpush.Options{
		HTTPClient:      client,
		Subscriber:      subscriber,
		TTL:             *ttl,
		Topic:           *topic,
		Urgency:         webpush.Urgency(*urgency),
		VAPIDPublicKey:  *vapidPub,
		VAPIDPrivateKey: *vapidPriv,
	}
	// Plaintext + 1 delimiter byte must fit in recordSize - 16 - header.
	if need := len(msg) + 1 + 16 + headerLen; need > int(webpush.MaxRecordSize) {
		opts.RecordSize = uint32(need)
	}

	resp, err := webpush.SendNotification(msg, &sub, opts)
	if err != nil {
		fail(1, "no HTTP response: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		fail(1, "reading response body: %v", err)
	}
	out := struct {
		Status     int     `json:"status"`
		Location   *string `json:"location"`
		TTL        *string `json:"ttl"`
		RetryAfter *string `json:"retry_after"`
		Body       string  `json:"body"`
	}{
		Status:     resp.StatusCode,
		Location:   headerOrNil(resp.Header, "Location"),
		TTL:        headerOrNil(resp.Header, "TTL"),
		RetryAfter: headerOrNil(resp.Header, "Retry-After"),
		Body:       string(body),
	}
	line, _ := json.Marshal(out)
	// Also report the protocol on stderr; tests may look at it.
	fmt.Fprintf(os.Stderr, "webpush-go: %s %d\n", resp.Proto, resp.StatusCode)
	fmt.Println(string(line))
}

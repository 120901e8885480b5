// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

const chatBody = `{"model":"tiny-test","messages":[{"role":"user","content":"hello"}]}`

// writeCerts writes a CA and a server certificate for 127.0.0.1 signed by it into dir, and
// returns the server's cert and key files and a pool that trusts the CA.
func writeCerts(t *testing.T, dir string) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "llt test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err = x509.ParseCertificate(caDER)
	require.NoError(t, err)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)

	certFile, keyFile = filepath.Join(dir, "gateway.crt"), filepath.Join(dir, "gateway.key")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	roots = x509.NewCertPool()
	roots.AddCert(ca)
	return certFile, keyFile, roots
}

// fakeLlamaServer serves the b11669 scrape fixtures and a fixed chat completion.
func fakeLlamaServer(t *testing.T) *fakeServer {
	t.Helper()
	up := newFakeServer(t, filepath.Join("testdata", "scraper", "debian-b11669-cpu"))
	answer, err := os.ReadFile(filepath.Join("internal", "gateway", "testdata", "b11669", "chat-completion.json"))
	require.NoError(t, err)
	stream, err := os.ReadFile(filepath.Join("internal", "gateway", "testdata", "b11669", "chat-completion-stream.sse"))
	require.NoError(t, err)
	up.set("/v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), `"stream":true`) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write(answer)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, event := range strings.SplitAfter(string(stream), "\n\n") {
			_, _ = io.WriteString(w, event)
			_ = http.NewResponseController(w).Flush()
			time.Sleep(5 * time.Millisecond)
		}
	})
	return up
}

// gatewayOn returns a config for a receiver of upstream with its gateway on a free port.
func gatewayOn(t *testing.T, upstream string, edit func(*GatewayConfig)) (*Config, string) {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = upstream
	cfg.CollectionInterval = 20 * time.Millisecond
	gw := defaultGatewayConfig()
	gw.NetAddr.Endpoint = fmt.Sprintf("127.0.0.1:%d", llamatest.FreePort(t))
	if edit != nil {
		edit(&gw)
	}
	cfg.Gateway = configoptional.Some(gw)
	require.NoError(t, cfg.Validate())
	require.NoError(t, gw.Validate())
	return cfg, gw.NetAddr.Endpoint
}

// startTraces starts cfg's receiver for a traces pipeline on host.
func startTraces(t *testing.T, cfg *Config, host component.Host) (*consumertest.TracesSink, error) {
	t.Helper()
	sink := new(consumertest.TracesSink)
	r, err := NewFactory().CreateTraces(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	err = r.Start(context.Background(), host)
	t.Cleanup(func() { assert.NoError(t, r.Shutdown(context.Background())) })
	return sink, err
}

func postChat(t *testing.T, client *http.Client, url string, header ...string) (*http.Response, []byte, error) {
	t.Helper()
	return postChatBody(t, client, url, chatBody, header...)
}

func postChatBody(t *testing.T, client *http.Client, url, chat string, header ...string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", strings.NewReader(chat))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func chatSpans(sink *consumertest.TracesSink) int {
	n := 0
	for _, s := range spans(sink) {
		if s.Name() == "chat tiny-test" {
			n++
		}
	}
	return n
}

// TestGatewayTLS: with `tls`, the gateway answers HTTPS with the configured certificate; a
// plain-HTTP request to the same port gets no answer from the gateway, and a client that does
// not trust the certificate cannot connect.
func TestGatewayTLS(t *testing.T) {
	up := fakeLlamaServer(t)
	certFile, keyFile, roots := writeCerts(t, t.TempDir())
	cfg, addr := gatewayOn(t, up.URL, func(g *GatewayConfig) {
		tlsCfg := configtls.NewDefaultServerConfig()
		tlsCfg.CertFile, tlsCfg.KeyFile = certFile, keyFile
		g.TLS = configoptional.Some(tlsCfg)
	})
	sink, err := startTraces(t, cfg, componenttest.NewNopHost())
	require.NoError(t, err)

	// Plain HTTP: Go's TLS server answers a bare 400 itself; nothing reaches the gateway.
	resp, body, err := postChat(t, http.DefaultClient, "http://"+addr)
	if err == nil {
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Contains(t, string(body), "HTTP request to an HTTPS server")
	}
	// A client without the CA refuses the certificate.
	_, _, err = postChat(t, &http.Client{Transport: &http.Transport{}}, "https://"+addr)
	var unknownAuthority x509.UnknownAuthorityError
	assert.ErrorAs(t, err, &unknownAuthority)
	assert.Zero(t, up.count("/v1/chat/completions"), "nothing was forwarded")

	httpsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	resp, body, err = postChat(t, httpsClient, "https://"+addr)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.NotNil(t, resp.TLS)
	assert.Equal(t, "127.0.0.1", resp.TLS.PeerCertificates[0].Subject.CommonName)
	// The gateway hands spans on in the order the requests finished: once the HTTPS request's
	// span is there, one of an earlier request would be too.
	require.Eventually(t, func() bool { return chatSpans(sink) >= 1 }, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, 1, chatSpans(sink), "only the HTTPS request was traced")

	// A streamed answer over HTTP/2 (negotiated by ALPN) arrives whole and is traced as one.
	h2Client := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	resp, body, err = postChatBody(t, h2Client, "https://"+addr, strings.Replace(chatBody, "{", `{"stream":true,`, 1))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Equal(t, "HTTP/2.0", resp.Proto)
	assert.True(t, strings.HasSuffix(strings.TrimSpace(string(body)), "data: [DONE]"), "%s", body)
	require.Eventually(t, func() bool { return chatSpans(sink) == 2 }, 10*time.Second, 5*time.Millisecond)
	for _, s := range spans(sink) {
		if s.Name() == "chat tiny-test" {
			_, failed := s.Attributes().Get("error.type")
			assert.False(t, failed)
		}
	}
}

// TestGatewayTLSMissingCert: a `tls` section whose files cannot be read fails Start at once.
func TestGatewayTLSMissingCert(t *testing.T) {
	up := fakeLlamaServer(t)
	cfg, _ := gatewayOn(t, up.URL, func(g *GatewayConfig) {
		tlsCfg := configtls.NewDefaultServerConfig()
		tlsCfg.CertFile, tlsCfg.KeyFile = filepath.Join(t.TempDir(), "none.crt"), filepath.Join(t.TempDir(), "none.key")
		g.TLS = configoptional.Some(tlsCfg)
	})
	_, err := startTraces(t, cfg, componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gateway")
	assert.Contains(t, err.Error(), "none.crt")
}

// tokenAuth is a server authenticator extension that accepts one bearer token.
type tokenAuth struct{ token string }

func (tokenAuth) Start(context.Context, component.Host) error { return nil }
func (tokenAuth) Shutdown(context.Context) error              { return nil }
func (a tokenAuth) Authenticate(ctx context.Context, headers map[string][]string) (context.Context, error) {
	for _, v := range headers["Authorization"] {
		if v == "Bearer "+a.token {
			return ctx, nil
		}
	}
	return ctx, errors.New("missing or wrong bearer token")
}

type extHost map[component.ID]component.Component

func (h extHost) GetExtensions() map[component.ID]component.Component { return h }

// TestGatewayAuth: with `auth`, a request the authenticator refuses is answered 401 in the
// OpenAI error shape, is not forwarded and leaves no span; an accepted one is traced as usual.
func TestGatewayAuth(t *testing.T) {
	up := fakeLlamaServer(t)
	authID := component.MustNewID("tokenauth")
	cfg, addr := gatewayOn(t, up.URL, func(g *GatewayConfig) {
		g.Auth = configoptional.Some(confighttp.AuthConfig{})
		g.Auth.Get().Config.AuthenticatorID = authID
	})
	sink, err := startTraces(t, cfg, extHost{authID: tokenAuth{token: "s3cret"}})
	require.NoError(t, err)

	for name, header := range map[string][]string{"no token": nil, "wrong token": {"Authorization", "Bearer nope"}} {
		resp, body, err := postChat(t, http.DefaultClient, "http://"+addr, header...)
		require.NoError(t, err, name)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, name)
		var e struct {
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
				Type    string `json:"type"`
			} `json:"error"`
		}
		require.NoError(t, json.Unmarshal(body, &e), "%s: %s", name, body)
		assert.Equal(t, 401, e.Error.Code, name)
		assert.Equal(t, "authentication_error", e.Error.Type, name)
		assert.Contains(t, e.Error.Message, "bearer token", name)
	}
	assert.Zero(t, up.count("/v1/chat/completions"), "refused requests are not forwarded")

	resp, body, err := postChat(t, http.DefaultClient, "http://"+addr, "Authorization", "Bearer s3cret")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	// Spans are handed on in the order the requests finished (see TestGatewayTLS).
	require.Eventually(t, func() bool { return chatSpans(sink) >= 1 }, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, 1, chatSpans(sink), "refused requests leave no span")
}

// TestGatewayAuthenticatorMissing: `auth` naming an extension the host does not have fails Start.
func TestGatewayAuthenticatorMissing(t *testing.T) {
	up := fakeLlamaServer(t)
	cfg, addr := gatewayOn(t, up.URL, func(g *GatewayConfig) {
		g.Auth = configoptional.Some(confighttp.AuthConfig{})
		g.Auth.Get().Config.AuthenticatorID = component.MustNewID("bearertokenauth")
	})
	_, err := startTraces(t, cfg, componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `failed to resolve authenticator "bearertokenauth"`)
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err, "the port was not taken")
	_ = ln.Close()
}

// TestDisabledGatewayMetricsNotEmitted: `metrics::<name>::enabled: false` keeps a gateway
// metric out of the receiver's metrics, the histograms as well as the generated counter.
func TestDisabledGatewayMetricsNotEmitted(t *testing.T) {
	up := fakeLlamaServer(t)
	cfg, addr := gatewayOn(t, up.URL, nil)
	cfg.Metrics.GenAIServerRequestDuration.Enabled = false
	cfg.Metrics.GenAIClientTokenUsage.Enabled = false
	cfg.Metrics.LlamacppGatewayRequests.Enabled = false

	sink := new(consumertest.MetricsSink)
	r, err := NewFactory().CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, r.Shutdown(context.Background())) })

	resp, body, err := postChat(t, http.DefaultClient, "http://"+addr)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)

	names := func() map[string]bool {
		seen := map[string]bool{}
		for _, md := range sink.AllMetrics() {
			for i := 0; i < md.ResourceMetrics().Len(); i++ {
				sms := md.ResourceMetrics().At(i).ScopeMetrics()
				for j := 0; j < sms.Len(); j++ {
					ms := sms.At(j).Metrics()
					for k := 0; k < ms.Len(); k++ {
						seen[ms.At(k).Name()] = true
					}
				}
			}
		}
		return seen
	}
	require.Eventually(t, func() bool { return names()["llamacpp.gateway.request.duration"] }, 10*time.Second, 10*time.Millisecond,
		"the enabled gateway histogram arrives")
	seen := names()
	assert.True(t, seen["llamacpp.generation.tokens"], "scraped metrics are unaffected")
	for _, off := range []string{"gen_ai.server.request.duration", "gen_ai.client.token.usage", "llamacpp.gateway.requests"} {
		assert.False(t, seen[off], "%s is disabled", off)
	}
}

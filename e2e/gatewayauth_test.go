// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf/modelgen"
)

// writeTestCerts writes a CA and a certificate for 127.0.0.1 signed by it into dir, and returns
// the certificate and key files and a pool that trusts the CA.
func writeTestCerts(t *testing.T, dir string) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "otelcol-llt e2e CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
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

// TestGatewayAuth runs the distribution with the llamacpp gateway behind TLS and the
// bearertokenauth extension (confighttp's `tls` and `auth` keys in the `gateway` section) in
// front of a launcher's real llama-server: without the token, or with a wrong one, a request
// gets 401 and leaves no span; with it, 200 and a span; plain HTTP to the TLS port gets no
// answer from the gateway.
func TestGatewayAuth(t *testing.T) {
	const token = "llt-e2e-token"
	model := llamatest.WriteModel(t, modelgen.Tiny())
	dir := t.TempDir()
	certFile, keyFile, roots := writeTestCerts(t, dir)
	out := filepath.Join(dir, "telemetry.jsonl")
	llamaPort, gwPort := llamatest.FreePort(t), llamatest.FreePort(t)
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `
extensions:
  llamalauncher:
    executable: %q
    model: %q
    port: %d
    context_size: 1024
    parallel: 2
    gpu: {devices: []}
  bearertokenauth:
    token: %q
receivers:
  llamacpp:
    launcher: llamalauncher
    collection_interval: 200ms
    gateway:
      endpoint: "127.0.0.1:%d"
      tls:
        cert_file: %q
        key_file: %q
      auth:
        authenticator: bearertokenauth
processors:
  batch: {timeout: 100ms}
exporters:
  file: {path: %q, flush_interval: 100ms}
service:
  extensions: [llamalauncher, bearertokenauth]
  telemetry: {metrics: {level: none}}
  pipelines:
    metrics: {receivers: [llamacpp], processors: [batch], exporters: [file]}
    traces: {receivers: [llamacpp], processors: [batch], exporters: [file]}
`, llamatest.Server(t), model, llamaPort, token, gwPort, certFile, keyFile, out), 0o600))

	cmd, logs := startCollector(t, otelcolBin(t), cfg, llamaPort)
	gateway := fmt.Sprintf("127.0.0.1:%d", gwPort)
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
	}}
	chat := func(c *http.Client, scheme string, header ...string) (*http.Response, []byte, error) {
		req, err := http.NewRequest(http.MethodPost, scheme+"://"+gateway+"/v1/chat/completions",
			strings.NewReader(`{"messages":[{"role":"user","content":"Hello"}],"max_tokens":8}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		return resp, body, err
	}
	type openAIError struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Type    string `json:"type"`
		} `json:"error"`
	}

	// Without the token: 401, in the OpenAI error shape the SDKs parse (also the first answer
	// of the gateway, so wait for its listener).
	var resp *http.Response
	var body []byte
	require.Eventually(t, func() bool {
		var err error
		resp, body, err = chat(client, "https")
		return err == nil
	}, 10*time.Second, 50*time.Millisecond, "the gateway never answered over TLS:\n%s", logs)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s", body)
	t.Logf("without the token: %d %s", resp.StatusCode, bytes.TrimSpace(body))
	var e openAIError
	require.NoError(t, json.Unmarshal(body, &e), "%s", body)
	assert.Equal(t, "authentication_error", e.Error.Type)
	assert.Equal(t, http.StatusUnauthorized, e.Error.Code)
	assert.Contains(t, e.Error.Message, "missing or empty authorization header")

	resp, body, err := chat(client, "https", "Authorization", "Bearer wrong-"+token)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s", body)

	// Plain HTTP to the TLS port: Go's TLS server answers a bare 400 (or the connection fails);
	// the gateway never sees the request.
	resp, body, err = chat(&http.Client{Timeout: 10 * time.Second}, "http", "Authorization", "Bearer "+token)
	if err == nil {
		t.Logf("plain HTTP to the TLS port: %d %s", resp.StatusCode, bytes.TrimSpace(body))
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", body)
		assert.Contains(t, string(body), "HTTP request to an HTTPS server")
	} else {
		t.Logf("plain HTTP to the TLS port: %v", err)
	}

	// With the token: llama-server's answer, over TLS.
	resp, body, err = chat(client, "https", "Authorization", "Bearer "+token)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.NotNil(t, resp.TLS)
	assert.Contains(t, string(body), `"choices"`)
	t.Logf("with the token: %d over %s, %d bytes", resp.StatusCode, tls.VersionName(resp.TLS.Version), len(body))

	// One span, for the one request the authenticator let through; the gateway's request counter
	// comes after it in the metrics, so once both are in the file, nothing else is coming.
	spanName := []byte(`"name":"chat llt-tiny"`)
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(out)
		return bytes.Contains(b, spanName) && bytes.Contains(b, []byte(`"name":"llamacpp.gateway.requests"`))
	}, 20*time.Second, 50*time.Millisecond, "span or gateway metrics missing from the file exporter:\n%s", logs)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, 1, bytes.Count(b, spanName), "refused requests leave no span")

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), "collector exit:\n%s", logs)
	assert.Empty(t, llamatest.ProcessesWithArgs("--model", model))
}

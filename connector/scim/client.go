package scim

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/scim"
)

// client speaks HTTP to the SCIM server: authentication, retries of 429
// (honouring Retry-After) and 5xx answers with exponential backoff, and
// SCIM error documents decoded into *scim.Error.
type client struct {
	base    string
	hc      *http.Client
	auth    func(ctx context.Context, req *http.Request, renew bool) error
	retries int
	maxWait time.Duration
	sleep   func(ctx context.Context, d time.Duration) error
	now     func() time.Time
	log     *slog.Logger
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func newClient(c *Config, env connector.Env) (*client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if c.CAFile != "" || c.InsecureSkipVerify {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			p := c.CAFile
			if !isAbs(p) && env.Dir != "" {
				p = env.Dir + "/" + p
			}
			pem, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("scim: caFile: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("scim: caFile %s holds no PEM certificate", p)
			}
			tc.RootCAs = pool
		}
		if c.InsecureSkipVerify {
			env.Logger.Warn("scim: TLS certificate verification is OFF (insecureSkipVerify): use only for tests", "url", c.URL)
			tc.InsecureSkipVerify = true
		}
		tr.TLSClientConfig = tc
	}
	tr.MaxIdleConnsPerHost = 16
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	cl := &client{
		base: strings.TrimRight(c.URL, "/"), hc: &http.Client{Transport: tr, Timeout: timeout},
		retries: c.maxRetries(), maxWait: c.MaxRetryWait, sleep: c.sleep, now: env.Now, log: env.Logger,
	}
	if cl.maxWait <= 0 {
		cl.maxWait = DefaultMaxRetryWait
	}
	if cl.sleep == nil {
		cl.sleep = sleepCtx
	}
	if cl.now == nil {
		cl.now = time.Now
	}
	switch c.Auth.Type {
	case "bearer":
		tok, err := c.Auth.Token.Resolve(env)
		if err != nil {
			return nil, fmt.Errorf("scim: auth token: %w", err)
		}
		cl.auth = func(_ context.Context, req *http.Request, _ bool) error {
			req.Header.Set("Authorization", "Bearer "+tok.Reveal())
			return nil
		}
	case "basic":
		pw, err := c.Auth.Password.Resolve(env)
		if err != nil {
			return nil, fmt.Errorf("scim: auth password: %w", err)
		}
		user := c.Auth.Username
		cl.auth = func(_ context.Context, req *http.Request, _ bool) error {
			req.SetBasicAuth(user, pw.Reveal())
			return nil
		}
	case "oauth2":
		sec, err := c.Auth.ClientSecret.Resolve(env)
		if err != nil {
			return nil, fmt.Errorf("scim: auth clientSecret: %w", err)
		}
		o := &oauth{url: c.Auth.TokenURL, id: c.Auth.ClientID, secret: sec, scopes: c.Auth.Scopes, hc: cl.hc, now: cl.now}
		cl.auth = o.authorize
	default:
		cl.auth = func(context.Context, *http.Request, bool) error { return nil }
	}
	return cl, nil
}

func isAbs(p string) bool { return strings.HasPrefix(p, "/") || (len(p) > 2 && p[1] == ':') }

// oauth gets and caches an access token by the client credentials grant.
type oauth struct {
	url, id string
	secret  connector.Secret
	scopes  []string
	hc      *http.Client
	now     func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

func (o *oauth) authorize(ctx context.Context, req *http.Request, renew bool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if renew || o.token == "" || !o.now().Before(o.expires) {
		if err := o.fetch(ctx); err != nil {
			return err
		}
	}
	req.Header.Set("Authorization", "Bearer "+o.token)
	return nil
}

func (o *oauth) fetch(ctx context.Context) error {
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(o.scopes) > 0 {
		form.Set("scope", strings.Join(o.scopes, " "))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("scim: oauth2 token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: client_secret_basic, with the id and secret form-encoded.
	req.SetBasicAuth(url.QueryEscape(o.id), url.QueryEscape(o.secret.Reveal()))
	resp, err := o.hc.Do(req)
	if err != nil {
		return &idsync.Error{Op: "oauth2 token", Kind: idsync.KindTransient, Err: fmt.Errorf("scim: oauth2 token endpoint %s: %w", o.url, err)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	json.Unmarshal(b, &tr)
	if resp.StatusCode != 200 || tr.AccessToken == "" {
		kind := idsync.KindPermission
		if resp.StatusCode >= 500 {
			kind = idsync.KindTransient
		}
		return &idsync.Error{Op: "oauth2 token", Kind: kind, Err: fmt.Errorf("scim: oauth2 token endpoint %s answered %d %s %s", o.url, resp.StatusCode, tr.Error, tr.Description)}
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "bearer") {
		return fmt.Errorf("scim: oauth2 token endpoint %s gave a %q token, not a bearer token", o.url, tr.TokenType)
	}
	o.token = tr.AccessToken
	life := time.Duration(tr.ExpiresIn) * time.Second
	if life <= 0 {
		life = time.Hour
	}
	// Renew a minute early (or at half life for short tokens).
	o.expires = o.now().Add(life - min(time.Minute, life/2))
	return nil
}

// retriedKey marks a context whose *bool do sets when it sent a request
// more than once.
type retriedKey struct{}

func withRetried(ctx context.Context, p *bool) context.Context {
	return context.WithValue(ctx, retriedKey{}, p)
}

// retryable statuses: throttling and server-side failures.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusBadGateway || status == http.StatusServiceUnavailable ||
		status == http.StatusGatewayTimeout || status == http.StatusInternalServerError
}

// backoff returns the wait before retry n (0-based): 200ms doubling, at
// most maxWait.
func (c *client) backoff(n int) time.Duration {
	d := 200 * time.Millisecond << min(n, 10)
	return min(d, c.maxWait)
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func (c *client) retryAfter(h string) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(h); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(c.now()), 0), true
	}
	return 0, false
}

// do sends a request and decodes a 2xx answer into out (when not nil). A
// SCIM error answer is a *scim.Error; exhausted retries and connection
// failures are KindTransient.
func (c *client) do(ctx context.Context, method, path string, body, out any) (int, http.Header, error) {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, fmt.Errorf("scim: encode %s %s: %w", method, path, err)
		}
		payload = b
	}
	renewed, renewNow := false, false
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return 0, nil, err
		}
		if p, ok := ctx.Value(retriedKey{}).(*bool); ok && attempt > 0 {
			*p = true
		}
		var rd io.Reader
		if payload != nil {
			rd = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
		if err != nil {
			return 0, nil, fmt.Errorf("scim: %s %s: %w", method, path, err)
		}
		req.Header.Set("Accept", scim.MediaType+", application/json")
		if payload != nil {
			req.Header.Set("Content-Type", scim.MediaType)
		}
		if err := c.auth(ctx, req, renewNow); err != nil {
			return 0, nil, err
		}
		renewNow = false
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return 0, nil, ctx.Err()
			}
			if attempt < c.retries && transientNet(err) {
				d := c.backoff(attempt)
				c.log.Warn("scim: request failed; retrying", "method", method, "path", path, "attempt", attempt+1, "wait", d, "err", err)
				if err := c.sleep(ctx, d); err != nil {
					return 0, nil, err
				}
				continue
			}
			return 0, nil, &idsync.Error{Op: "scim", Kind: idsync.KindTransient, Err: fmt.Errorf("scim: %s %s: %w", method, path, err)}
		}
		b, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if rerr != nil {
			if attempt < c.retries {
				continue
			}
			return 0, nil, &idsync.Error{Op: "scim", Kind: idsync.KindTransient, Err: fmt.Errorf("scim: %s %s: reading the answer: %w", method, path, rerr)}
		}
		st := resp.StatusCode
		if st == http.StatusUnauthorized && !renewed {
			// An expired OAuth token: renew it once.
			renewed, renewNow = true, true
			if attempt < c.retries {
				continue
			}
		}
		if retryable(st) && attempt < c.retries {
			d, ok := c.retryAfter(resp.Header.Get("Retry-After"))
			if !ok {
				d = c.backoff(attempt)
			}
			if d > c.maxWait {
				return st, resp.Header, &idsync.Error{Op: "scim", Kind: idsync.KindTransient,
					Err: fmt.Errorf("scim: %s %s: %d, Retry-After %s is beyond maxRetryWait %s", method, path, st, d, c.maxWait)}
			}
			c.log.Warn("scim: server busy or failing; retrying", "method", method, "path", path, "status", st, "attempt", attempt+1, "wait", d)
			if err := c.sleep(ctx, d); err != nil {
				return 0, nil, err
			}
			continue
		}
		if st < 200 || st > 299 {
			se := decodeError(st, b)
			if retryable(st) {
				return st, resp.Header, &idsync.Error{Op: "scim", Kind: idsync.KindTransient, Err: fmt.Errorf("%s %s after %d attempts: %w", method, path, attempt+1, se)}
			}
			return st, resp.Header, se
		}
		if out != nil && len(b) > 0 {
			if err := json.Unmarshal(b, out); err != nil {
				return st, resp.Header, fmt.Errorf("scim: %s %s: the answer is not SCIM JSON: %w", method, path, err)
			}
		}
		return st, resp.Header, nil
	}
}

func decodeError(status int, b []byte) *scim.Error {
	var se scim.Error
	if err := json.Unmarshal(b, &se); err == nil && (se.Detail != "" || se.ScimType != "") {
		se.Status = status
		return &se
	}
	detail := strings.TrimSpace(string(b))
	if len(detail) > 200 {
		detail = detail[:200] + "…"
	}
	if detail == "" {
		detail = http.StatusText(status)
	}
	return &scim.Error{Status: status, Detail: detail}
}

func transientNet(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

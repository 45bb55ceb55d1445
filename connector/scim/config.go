package scim

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/idsync/idsync/connector"
)

// Config is the configuration of a SCIM connector (its settings mapping).
//
//	settings:
//	  url: https://app.example.com/scim/v2      # the SCIM base URL
//	  auth:
//	    type: bearer                            # bearer, oauth2, basic or none
//	    token: {env: APP_SCIM_TOKEN}            # bearer
//	    # oauth2 client credentials (RFC 6749 §4.4):
//	    # tokenURL: https://login.example.com/oauth2/token
//	    # clientID: idsync
//	    # clientSecret: {env: APP_CLIENT_SECRET}
//	    # scopes: [scim]
//	    # basic:
//	    # username: idsync
//	    # password: {env: APP_PASSWORD}
//	  resourceTypes: [User, Group]              # default: every type /ResourceTypes lists
//	  pageSize: 100                             # import page (count); default 100
//	  update: auto                              # auto (PATCH when the server supports it), patch or put
//	  timeout: 30s                              # per request
//	  maxRetries: 5                             # for 429 and 5xx answers and connection failures
//	  maxRetryWait: 2m                          # longest Retry-After honoured
//	  caFile: /etc/idsync/app-ca.pem            # optional
//	  insecureSkipVerify: false
type Config struct {
	URL                string        `yaml:"url"`
	Auth               Auth          `yaml:"auth"`
	ResourceTypes      []string      `yaml:"resourceTypes"`
	PageSize           int           `yaml:"pageSize"`
	Update             string        `yaml:"update"`
	Timeout            time.Duration `yaml:"timeout"`
	MaxRetries         *int          `yaml:"maxRetries"`
	Concurrency        int           `yaml:"concurrency"`
	MaxRetryWait       time.Duration `yaml:"maxRetryWait"`
	CAFile             string        `yaml:"caFile"`
	InsecureSkipVerify bool          `yaml:"insecureSkipVerify"`

	// sleep and now, set only by tests, replace the clock of retries.
	sleep func(ctx context.Context, d time.Duration) error
}

// Auth configures authentication.
type Auth struct {
	Type         string              `yaml:"type"`
	Token        connector.SecretRef `yaml:"token"`
	TokenURL     string              `yaml:"tokenURL"`
	ClientID     string              `yaml:"clientID"`
	ClientSecret connector.SecretRef `yaml:"clientSecret"`
	Scopes       []string            `yaml:"scopes"`
	Username     string              `yaml:"username"`
	Password     connector.SecretRef `yaml:"password"`
}

// Defaults.
const (
	DefaultPageSize     = 100
	DefaultTimeout      = 30 * time.Second
	DefaultMaxRetries   = 5
	DefaultMaxRetryWait = 2 * time.Minute
)

// Type is the SCIM connector type.
var Type = connector.Type{
	Name:         "scim",
	NewConfig:    func() connector.Config { return new(Config) },
	Capabilities: capabilities(),
}

func capabilities() connector.Capabilities {
	return connector.Capabilities{
		DNStyle:      connector.DNNone,
		ExportType:   connector.ExportAttributeUpdate,
		Confirmation: connector.ConfirmNormal,
		Import:       true,
		Export:       true,
	}
}

// Validate checks the configuration without I/O.
func (c *Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		errs = append(errs, errors.New("url is required (the SCIM base URL, e.g. https://app.example.com/scim/v2)"))
	case err != nil:
		errs = append(errs, fmt.Errorf("url: %v", err))
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		errs = append(errs, fmt.Errorf("url %q: want an http:// or https:// URL", c.URL))
	}
	switch c.Auth.Type {
	case "bearer":
		if c.Auth.Token.IsZero() {
			errs = append(errs, errors.New("auth: type bearer needs token: {env: NAME}"))
		}
	case "oauth2":
		if c.Auth.TokenURL == "" || c.Auth.ClientID == "" || c.Auth.ClientSecret.IsZero() {
			errs = append(errs, errors.New("auth: type oauth2 needs tokenURL, clientID and clientSecret: {env: NAME}"))
		} else if tu, err := url.Parse(c.Auth.TokenURL); err != nil || (tu.Scheme != "http" && tu.Scheme != "https") {
			errs = append(errs, fmt.Errorf("auth: tokenURL %q is not an http(s) URL", c.Auth.TokenURL))
		}
	case "basic":
		if c.Auth.Username == "" || c.Auth.Password.IsZero() {
			errs = append(errs, errors.New("auth: type basic needs username and password: {env: NAME}"))
		}
	case "none":
	case "":
		errs = append(errs, errors.New("auth: type is required (bearer, oauth2, basic or none)"))
	default:
		errs = append(errs, fmt.Errorf("auth: unknown type %q (want bearer, oauth2, basic or none)", c.Auth.Type))
	}
	switch c.Update {
	case "", "auto", "patch", "put":
	default:
		errs = append(errs, fmt.Errorf("update: unknown mode %q (want auto, patch or put)", c.Update))
	}
	if c.PageSize < 0 {
		errs = append(errs, errors.New("pageSize must be positive"))
	}
	if c.Concurrency < 0 || c.Concurrency > 64 {
		errs = append(errs, errors.New("concurrency must be between 1 and 64"))
	}
	if c.MaxRetries != nil && *c.MaxRetries < 0 {
		errs = append(errs, errors.New("maxRetries must not be negative"))
	}
	return errors.Join(errs...)
}

func (c *Config) pageSize() int {
	if c.PageSize > 0 {
		return c.PageSize
	}
	return DefaultPageSize
}

func (c *Config) maxRetries() int {
	if c.MaxRetries != nil {
		return *c.MaxRetries
	}
	return DefaultMaxRetries
}

// DefaultConcurrency is how many export requests are in flight at once.
const DefaultConcurrency = 4

func (c *Config) concurrency() int {
	if c.Concurrency > 0 {
		return c.Concurrency
	}
	return DefaultConcurrency
}

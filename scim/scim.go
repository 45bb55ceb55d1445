// Package scim holds what idsync's SCIM 2.0 client (connector/scim) and
// server (host) share: the protocol messages of RFC 7644 (error
// documents, ListResponse, PatchOp), the filter grammar of RFC 7644
// §3.4.2.2 with an evaluator, attribute paths, and the PATCH operation
// semantics of §3.5.2 applied to a resource.
//
// A resource is a decoded JSON object, Resource (map[string]any).
// Attribute names compare case-insensitively, as RFC 7643 §2.1 says.
// Attributes of a schema extension live under the extension's URN
// (RFC 7643 §3.3) and are addressed with the URN as a prefix:
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber".
package scim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Schema and message URNs (RFC 7643 §8.7, RFC 7644 §3.1).
const (
	SchemaUser           = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaEnterpriseUser = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	SchemaSPConfig       = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	SchemaResourceType   = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	SchemaSchema         = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	MsgListResponse      = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	MsgPatchOp           = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	MsgError             = "urn:ietf:params:scim:api:messages:2.0:Error"
	MsgSearchRequest     = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	// MediaType is the SCIM media type (RFC 7644 §8.1).
	MediaType = "application/scim+json"
)

// scimType values of error documents (RFC 7644 §3.12, table 9).
const (
	ErrInvalidFilter = "invalidFilter"
	ErrTooMany       = "tooMany"
	ErrUniqueness    = "uniqueness"
	ErrMutability    = "mutability"
	ErrInvalidSyntax = "invalidSyntax"
	ErrInvalidPath   = "invalidPath"
	ErrNoTarget      = "noTarget"
	ErrInvalidValue  = "invalidValue"
	ErrInvalidVers   = "invalidVers"
	ErrSensitive     = "sensitive"
)

// Resource is a SCIM resource as decoded JSON.
type Resource = map[string]any

// Error is a SCIM error document (RFC 7644 §3.12). It is also the Go
// error the parsers and PATCH return, with the HTTP status a server
// answers with.
type Error struct {
	Status   int
	ScimType string
	Detail   string
}

// Errorf returns an *Error with a formatted detail.
func Errorf(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("scim: ")
	b.WriteString(strconv.Itoa(e.Status))
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	if e.ScimType != "" {
		b.WriteString(" (" + e.ScimType + ")")
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}

type errorDoc struct {
	Schemas  []string        `json:"schemas"`
	Status   json.RawMessage `json:"status"`
	ScimType string          `json:"scimType,omitempty"`
	Detail   string          `json:"detail,omitempty"`
}

// MarshalJSON writes the error document; status is a string, as RFC 7644
// §3.12 shows it.
func (e *Error) MarshalJSON() ([]byte, error) {
	st, _ := json.Marshal(strconv.Itoa(e.Status))
	return json.Marshal(errorDoc{Schemas: []string{MsgError}, Status: st, ScimType: e.ScimType, Detail: e.Detail})
}

// UnmarshalJSON reads an error document whose status is a string or a
// number (servers differ).
func (e *Error) UnmarshalJSON(b []byte) error {
	var d errorDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return err
	}
	s := strings.Trim(string(d.Status), `"`)
	if s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("scim: error document status %s is not a number", d.Status)
		}
		e.Status = n
	}
	e.ScimType, e.Detail = d.ScimType, d.Detail
	return nil
}

// ListResponse is a query's answer (RFC 7644 §3.4.2).
type ListResponse struct {
	Schemas      []string   `json:"schemas"`
	TotalResults int        `json:"totalResults"`
	StartIndex   int        `json:"startIndex"`
	ItemsPerPage int        `json:"itemsPerPage"`
	Resources    []Resource `json:"Resources"`
}

// PatchRequest is a PATCH body (RFC 7644 §3.5.2).
type PatchRequest struct {
	Schemas    []string  `json:"schemas"`
	Operations []PatchOp `json:"Operations"`
}

// PatchOp is one PATCH operation. Op is "add", "replace" or "remove",
// compared case-insensitively (Microsoft Entra sends "Add", "Replace").
type PatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path,omitempty"`
	Value any    `json:"value,omitempty"`
}

// ServiceProviderConfig is the subset of RFC 7643 §5 a client needs.
type ServiceProviderConfig struct {
	Schemas []string `json:"schemas,omitempty"`
	Patch   struct {
		Supported bool `json:"supported"`
	} `json:"patch"`
	Bulk struct {
		Supported      bool `json:"supported"`
		MaxOperations  int  `json:"maxOperations"`
		MaxPayloadSize int  `json:"maxPayloadSize"`
	} `json:"bulk"`
	Filter struct {
		Supported  bool `json:"supported"`
		MaxResults int  `json:"maxResults"`
	} `json:"filter"`
	ChangePassword struct {
		Supported bool `json:"supported"`
	} `json:"changePassword"`
	Sort struct {
		Supported bool `json:"supported"`
	} `json:"sort"`
	ETag struct {
		Supported bool `json:"supported"`
	} `json:"etag"`
	AuthenticationSchemes []AuthScheme `json:"authenticationSchemes,omitempty"`
}

// AuthScheme is one authentication scheme of a ServiceProviderConfig.
type AuthScheme struct {
	Type        string `json:"type"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Primary     bool   `json:"primary,omitempty"`
}

// ResourceType is an RFC 7643 §6 resource type.
type ResourceType struct {
	Schemas          []string          `json:"schemas,omitempty"`
	ID               string            `json:"id,omitempty"`
	Name             string            `json:"name"`
	Description      string            `json:"description,omitempty"`
	Endpoint         string            `json:"endpoint"`
	Schema           string            `json:"schema"`
	SchemaExtensions []SchemaExtension `json:"schemaExtensions,omitempty"`
	Meta             map[string]any    `json:"meta,omitempty"`
}

// SchemaExtension names an extension of a resource type.
type SchemaExtension struct {
	Schema   string `json:"schema"`
	Required bool   `json:"required"`
}

// Schema is an RFC 7643 §7 schema definition.
type Schema struct {
	Schemas     []string       `json:"schemas,omitempty"`
	ID          string         `json:"id"`
	Name        string         `json:"name,omitempty"`
	Description string         `json:"description,omitempty"`
	Attributes  []Attribute    `json:"attributes"`
	Meta        map[string]any `json:"meta,omitempty"`
}

// Attribute is an attribute definition of a schema (RFC 7643 §7).
type Attribute struct {
	Name            string      `json:"name"`
	Type            string      `json:"type"` // string, boolean, decimal, integer, dateTime, reference, binary, complex
	MultiValued     bool        `json:"multiValued"`
	Description     string      `json:"description,omitempty"`
	Required        bool        `json:"required"`
	CaseExact       bool        `json:"caseExact"`
	Mutability      string      `json:"mutability,omitempty"` // readOnly, readWrite, immutable, writeOnly
	Returned        string      `json:"returned,omitempty"`   // always, never, default, request
	Uniqueness      string      `json:"uniqueness,omitempty"` // none, server, global
	SubAttributes   []Attribute `json:"subAttributes,omitempty"`
	ReferenceTypes  []string    `json:"referenceTypes,omitempty"`
	CanonicalValues []string    `json:"canonicalValues,omitempty"`
}

// Lookup returns the value of attribute name of r, compared
// case-insensitively, and the key it is stored under.
func Lookup(r Resource, name string) (any, string, bool) {
	if v, ok := r[name]; ok {
		return v, name, true
	}
	for k, v := range r {
		if strings.EqualFold(k, name) {
			return v, k, true
		}
	}
	return nil, "", false
}

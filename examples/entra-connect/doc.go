// Package entraconnect is the Entra Connect example: an Active Directory
// export (ad.csv) synchronized into a cloud directory stand-in (aad.csv)
// by Entra Connect's own default sync rules, imported unchanged with
// `idsync rules import-aadc` (rules/, metaverse.yaml). See README.md; the
// package's test runs the example and checks what reaches the cloud.
package entraconnect

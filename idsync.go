// Package idsync holds the vocabulary of the idsync identity synchronization
// engine: the types every other package speaks. It imports nothing from the
// project.
//
// Glossary (these words mean the same thing in code, API, UI and docs):
//
//   - connected system: a directory, database or application idsync keeps in sync.
//   - connector: the code and configuration that reads and writes one connected system.
//   - connector space (CS): per connector, the engine's staged copy of every in-scope
//     object of that system (§2.1). Objects in it are CS objects: staging objects
//     (import objects, which came from the system, and export objects, created by
//     provisioning) and placeholders (parents and reference targets not yet imported).
//   - metaverse (MV): the one integrated view of every identity (§2.2), made of MV objects.
//   - anchor: an immutable value that identifies an object in its connected system.
//   - link: the relation between a CS object and an MV object. A linked CS object is
//     joined (a connector); an unlinked one is disjoined (a disconnector) (§2.3).
//   - join: linking a disjoined CS object to an existing MV object by join rules (§7.3).
//   - projection: creating an MV object for a CS object that joined nothing (§4.1).
//   - provisioning: creating an export object in a connector space for an MV object (§4.2).
//   - flow: one transformation that computes one target attribute (§7.4). Never "mapping".
//   - precedence: which rule's flow wins when several flow the same attribute (§7.5).
//   - lineage: for each MV value, the rule, connector, CS object and run that contributed it.
//   - watermark: the opaque position a delta import starts from, kept per connector and partition.
//   - pending import / pending export: staged changes waiting for sync / for export.
//   - export status: the values last exported and not yet confirmed by an import (§6.2).
package idsync

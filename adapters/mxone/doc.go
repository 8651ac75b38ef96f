// Package mxone is the adapter for Mitel MX-ONE Provisioning Manager (PM),
// the REST API described in reference/mxone-pm-digest.md.
//
// Every platform quirk stays in here: creates that answer 201 without an id
// (the record is looked up by its natural key afterwards), the link between a
// user and its extensions that only the user side can make (serialised per
// user), deletes keyed differently per kind, the extension type names of
// three vocabularies, names ↔ numeric ids for every reference, the two page
// styles with their ambiguous numbering, and token refresh. README.md in this
// directory records what the adapter and the simulator (sim/) agree on where
// the document is silent.
//
// Records handed out by Get and List have exactly the shape of the kind's
// schema (schemas/mxone): references by name, no platform ids, no secrets
// (PM never returns passwords), and no zero or empty fields, because PM
// omits those and an "absent" must compare equal to an empty cell.
package mxone

// Package dossier turns accepted, anonymised reports into review dossiers:
// it freezes each forwarded report (sealed for the desk and for the review
// body), and exports a dossier as one age-encrypted ZIP holding a signed,
// hash-listed manifest, JSON Lines, an HXL-tagged CSV, a self-contained
// HTML summary and metadata-stripped attachments; Verify checks such a
// bundle.
//
// It must never put a sender identifier, the custodian's raw copy or
// unredacted testimony in a bundle; never export a report without consent
// to anonymised sharing; never write plaintext to disk (spill files are
// age-encrypted to a key that lives only in memory); and keep memory flat
// whatever the dossier's size.
package dossier

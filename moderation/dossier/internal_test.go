package dossier

// Neutral exposes neutral to the external tests (FuzzCSVNeutral).
var Neutral = neutral

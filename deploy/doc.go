// Package deploy holds no code: it is the home of the tests for the
// deployment files beside it (systemd units, the container image, the
// Kubernetes manifests, the Raspberry Pi panel scripts and their docs).
package deploy

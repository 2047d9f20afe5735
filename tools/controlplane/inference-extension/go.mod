// The CustomResourceDefinitions of the Gateway API Inference Extension (InferencePool).
// No binary is built from this module: the control-plane build copies the YAML it ships.
// It is apart from ../crds because it needs a newer Gateway API module than the one
// whose CRDs ../crds copies.
module github.com/ome-operator/ome/tools/controlplane/inference-extension

go 1.26.0

require sigs.k8s.io/gateway-api-inference-extension v1.0.1

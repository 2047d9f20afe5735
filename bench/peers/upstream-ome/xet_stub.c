/* Link-time stand-in for upstream OME's Rust libxet (pkg/xet), whose sources depend on
   git-only crates (github.com/huggingface/xet-core) that no package registry serves.
   The manager links pkg/xet only through the model-agent package; the
   InferenceService/BaseModel controllers never call it. Every call fails cleanly. */
#include <stdlib.h>
#include <string.h>
#include "xet.h"

void xet_version_1_0_0(void) {}

static XetError* stub_error(void) {
    XetError* e = calloc(1, sizeof(XetError));
    e->code = -1;
    e->message = strdup("libxet stub: Hugging Face xet downloads are not available in this build");
    e->details = strdup("");
    return e;
}

XetClient* xet_client_new(const XetConfig* config) { (void)config; return NULL; }
void xet_client_free(XetClient* client) { (void)client; }
XetError* xet_client_set_progress_callback(XetClient* c, XetProgressCallback cb, void* u, uint32_t t) {
    (void)c; (void)cb; (void)u; (void)t; return stub_error();
}
XetError* xet_list_files(XetClient* c, const char* r, const char* v, XetFileList** out) {
    (void)c; (void)r; (void)v; if (out) *out = NULL; return stub_error();
}
XetError* xet_download_file(XetClient* c, const XetDownloadRequest* r, const XetCancellationToken* t, char** out) {
    (void)c; (void)r; (void)t; if (out) *out = NULL; return stub_error();
}
XetError* xet_download_snapshot(XetClient* c, const char* a, const char* b, const char* d, const char* e,
                                const XetCancellationToken* t, char** out) {
    (void)c; (void)a; (void)b; (void)d; (void)e; (void)t; if (out) *out = NULL; return stub_error();
}
void xet_free_error(XetError* err) { if (err) { free(err->message); free(err->details); free(err); } }
void xet_free_file_list(XetFileList* list) {
    if (!list) return;
    for (size_t i = 0; i < list->count; i++) { free(list->files[i].path); free(list->files[i].hash); }
    free(list->files); free(list);
}
void xet_free_string(char* s) { free(s); }

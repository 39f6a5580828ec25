#define _GNU_SOURCE
#include "vlatune_library_loader.h"

#include <dlfcn.h>
#if defined(__linux__)
#include <link.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { vt_exit_unavailable = 69 };

void *vt_library_open(const char *label, const char *const *names, const char *package) {
  char tried[512] = "";
  const char *error = "no file names";
  for (const char *const *name = names; *name != NULL; name++) {
    void *handle = dlopen(*name, RTLD_NOW | RTLD_LOCAL);
    if (handle != NULL) return handle;
    error = dlerror();
    size_t used = strlen(tried);
    snprintf(tried + used, sizeof tried - used, "%s%s", used ? ", " : "", *name);
  }
  fprintf(stderr,
          "vlatune: error: cannot load %s (tried %s): %s; install %s (Debian: apt-get install "
          "%s) or run 'make deps'\n",
          label, tried, error ? error : "unknown error", label, package);
  fflush(stderr);
  exit(vt_exit_unavailable);
}

int vt_library_try_open(const char *const *names, char *error, size_t length) {
  const char *last = "no file names";
  for (const char *const *name = names; *name != NULL; name++) {
    if (dlopen(*name, RTLD_NOW | RTLD_LOCAL) != NULL) return 1;
    last = dlerror();
  }
  snprintf(error, length, "%s", last ? last : "unknown error");
  return 0;
}

void *vt_library_symbol(void *handle, const char *label, const char *symbol) {
  dlerror();
  void *address = dlsym(handle, symbol);
  if (address == NULL) {
    const char *error = dlerror();
    fprintf(stderr, "vlatune: error: %s (%s) lacks %s: %s; install a newer %s\n", label,
            vt_library_path(handle), symbol, error ? error : "symbol is NULL", label);
    fflush(stderr);
    exit(vt_exit_unavailable);
  }
  return address;
}

const char *vt_library_path(void *handle) {
#if defined(__linux__)
  struct link_map *map = NULL;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || map == NULL || map->l_name == NULL) return "";
  return map->l_name;
#else
  (void)handle;
  return "";
#endif
}

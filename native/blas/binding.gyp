{
  "targets": [{
    "target_name": "naf_blas",
    "sources": ["naf_blas.c"],
    "include_dirs": ["<!@(pkg-config --cflags-only-I openblas 2>/dev/null | sed 's/-I//g')"],
    "libraries": ["<!@(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)"],
    "cflags": ["-O2"]
  }]
}

#include <cstdio>
int main() { std::puts("mixq: under construction"); return 0; }

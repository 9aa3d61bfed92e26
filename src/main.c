#include <stdio.h>
int main(void) { puts("emotop"); return 0; }

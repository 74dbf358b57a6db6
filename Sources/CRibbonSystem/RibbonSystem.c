#define _GNU_SOURCE
#include "RibbonSystem.h"

#include <elf.h>
#include <link.h>
#include <string.h>

struct build_id_search {
    uint8_t *out;
    size_t capacity;
    size_t length;
};

// Called for each loaded object; the first is the executable. Notes are (namesz, descsz,
// type, name, desc), name and desc each padded to 4 bytes.
static int find_build_id(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct build_id_search *search = data;
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *phdr = &info->dlpi_phdr[i];
        if (phdr->p_type != PT_NOTE) continue;
        const uint8_t *note = (const uint8_t *)(info->dlpi_addr + phdr->p_vaddr);
        const uint8_t *end = note + phdr->p_memsz;
        while (note + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *header = (const ElfW(Nhdr) *)note;
            const uint8_t *name = note + sizeof(ElfW(Nhdr));
            const uint8_t *desc = name + ((header->n_namesz + 3) & ~3u);
            if (desc + header->n_descsz > end) break;
            if (header->n_type == NT_GNU_BUILD_ID && header->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
                if (header->n_descsz <= search->capacity) {
                    memcpy(search->out, desc, header->n_descsz);
                    search->length = header->n_descsz;
                }
                return 1;
            }
            note = desc + ((header->n_descsz + 3) & ~3u);
        }
    }
    return 1;  // only the executable
}

size_t ribbon_executable_build_id(uint8_t *out, size_t capacity) {
    struct build_id_search search = { out, capacity, 0 };
    dl_iterate_phdr(find_build_id, &search);
    return search.length;
}

'use strict';
// Autocomplete list filters: choosing an object reloads the list filtered by it.
window.addEventListener('load', function () {
    django.jQuery('select.portal-autocomplete-filter').on('change', function () {
        const url = new URL(window.location.href);
        const param = this.dataset.filterParam;
        if (this.value) { url.searchParams.set(param, this.value); } else { url.searchParams.delete(param); }
        url.searchParams.delete('p');
        window.location.href = url.toString();
    });
});
